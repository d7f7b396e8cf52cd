#!/usr/bin/env Rscript
# Round-2 reference values for lmmcourse.stats: profile-likelihood confidence intervals
# (lme4 confint(method = "profile", oldNames = FALSE)), leave-one-cluster-out influence
# (lme4 influence(m, groups = ...), cooks.distance, dfbeta) and printed lmerTest/lme4 tables
# (reference formatting for lmmcourse.stats._display).  Run from the repository root:
#
#     Rscript tools/reference_round2_infer.R
#
# Writes
#   tests/reference/data/{ergoStool,cake,Rail,Dyestuff2}.csv      (inputs, plain CSV)
#   tests/reference/round2_infer.json
# and reads the CSVs tools/reference.R writes (sleepstudy, Dyestuff, Orthodont).  None of these
# data sets is the lesson's.  R is needed only to regenerate the files, never by the tests.
#
# Layout of round2_infer.json:
#   versions, data_files {data set: CSV path relative to the repository root}
#   models {name: {data, formula (lmer, REML), python {formula, groups, re_formula,
#                  uncorrelated (only for (x || g))}, python_names {R name: statsmodels name},
#                  logLik_reml, isSingular,
#                  confint_profile {rows (fixed effects under statsmodels' names), lower, upper
#                                   (95%), lower90, upper90, columns, ml_logLik},
#                  influence {group, clusters (lme4's order), cooks_distance,
#                             fixef {name: estimate}, fixef_deleted {name: [one per cluster]},
#                             n_clusters}}}          (influence absent for two models)
#   display {format_pval_input, format_pval_digits3(_eps), format_pval_single: strings;
#            printed R output as arrays of lines: printCoefmat_*, anova_*, ranova_*,
#            anova_ml_compare, confint_sleepstudy_slope}

suppressPackageStartupMessages({
  library(lme4)
  library(lmerTest)
  library(jsonlite)
})

options(warn = 1)
if (!file.exists("pyproject.toml")) stop("run from the repository root")
out_dir <- file.path("tests", "reference")
data_dir <- file.path(out_dir, "data")

write_data <- function(df, name) {
  path <- file.path(data_dir, name)
  write.csv(df, path, row.names = FALSE)
  read.csv(path, stringsAsFactors = FALSE)
}
read_data <- function(name) read.csv(file.path(data_dir, name), stringsAsFactors = FALSE)

num <- function(x) as.numeric(x)
obj <- function(x) as.list(x)

data_sets <- list(
  sleepstudy = read_data("sleepstudy.csv"),
  Dyestuff = read_data("Dyestuff.csv"),
  Orthodont = read_data("Orthodont.csv"),
  ergoStool = write_data(as.data.frame(lapply(nlme::ergoStool, function(x)
    if (is.factor(x)) as.character(x) else x)), "ergoStool.csv"),
  # tools/reference_round2_fit.R writes the same rows (plus a column t10): keep its file
  cake = if (file.exists(file.path(data_dir, "cake.csv"))) read_data("cake.csv") else
    write_data(data.frame(replicate = as.character(lme4::cake$replicate),
                          recipe = as.character(lme4::cake$recipe),
                          temp = lme4::cake$temp, angle = lme4::cake$angle), "cake.csv"),
  Rail = write_data(data.frame(Rail = as.character(nlme::Rail$Rail),
                               travel = nlme::Rail$travel), "Rail.csv"),
  Dyestuff2 = write_data(as.data.frame(lapply(lme4::Dyestuff2, function(x)
    if (is.factor(x)) as.character(x) else x)), "Dyestuff2.csv")
)

# name: data, R formula, python (formula, groups, re_formula; uncorrelated = TRUE for R's (x || g),
# i.e. statsmodels' fit(free = diagonal covariance)), R -> statsmodels fixed-effect names
models <- list(
  sleepstudy_slope = list(data = "sleepstudy", formula = "Reaction ~ Days + (Days | Subject)",
    python = list(formula = "Reaction ~ Days", groups = "Subject", re_formula = "~Days"),
    names = c("(Intercept)" = "Intercept", Days = "Days")),
  sleepstudy_uncorr = list(data = "sleepstudy", formula = "Reaction ~ Days + (Days || Subject)",
    python = list(formula = "Reaction ~ Days", groups = "Subject", re_formula = "~Days",
                  uncorrelated = TRUE),
    names = c("(Intercept)" = "Intercept", Days = "Days")),
  sleepstudy_int = list(data = "sleepstudy", formula = "Reaction ~ Days + (1 | Subject)",
    python = list(formula = "Reaction ~ Days", groups = "Subject", re_formula = "1"),
    names = c("(Intercept)" = "Intercept", Days = "Days")),
  dyestuff = list(data = "Dyestuff", formula = "Yield ~ 1 + (1 | Batch)",
    python = list(formula = "Yield ~ 1", groups = "Batch", re_formula = "1"),
    names = c("(Intercept)" = "Intercept")),
  dyestuff2 = list(data = "Dyestuff2", formula = "Yield ~ 1 + (1 | Batch)",
    python = list(formula = "Yield ~ 1", groups = "Batch", re_formula = "1"),
    names = c("(Intercept)" = "Intercept")),
  orthodont_int = list(data = "Orthodont", formula = "distance ~ age + Sex + (1 | Subject)",
    python = list(formula = "distance ~ age + Sex", groups = "Subject", re_formula = "1"),
    names = c("(Intercept)" = "Intercept", age = "age", SexMale = "Sex[T.Male]")),
  ergostool = list(data = "ergoStool", formula = "effort ~ Type + (1 | Subject)",
    python = list(formula = "effort ~ Type", groups = "Subject", re_formula = "1"),
    names = c("(Intercept)" = "Intercept", TypeT2 = "Type[T.T2]", TypeT3 = "Type[T.T3]",
              TypeT4 = "Type[T.T4]")),
  cake = list(data = "cake", formula = "angle ~ recipe + temp + (1 | replicate)",
    python = list(formula = "angle ~ recipe + temp", groups = "replicate", re_formula = "1"),
    names = c("(Intercept)" = "Intercept", recipeB = "recipe[T.B]", recipeC = "recipe[T.C]",
              temp = "temp")),
  rail = list(data = "Rail", formula = "travel ~ 1 + (1 | Rail)",
    python = list(formula = "travel ~ 1", groups = "Rail", re_formula = "1"),
    names = c("(Intercept)" = "Intercept"))
)

fit <- function(spec) {
  d <- data_sets[[spec$data]]
  eval(bquote(lmerTest::lmer(.(as.formula(spec$formula)), data = .(d), REML = TRUE)))
}

rename_rows <- function(rn, names) {
  ifelse(rn %in% names(names), names[rn], rn)
}

profile_block <- function(m, spec) {
  ci <- suppressWarnings(confint(m, method = "profile", oldNames = FALSE, level = 0.95))
  ci90 <- suppressWarnings(confint(m, method = "profile", oldNames = FALSE, level = 0.90))
  rows <- rename_rows(rownames(ci), spec$names)
  list(rows = I(rows), lower = num(ci[, 1]), upper = num(ci[, 2]),
       lower90 = num(ci90[, 1]), upper90 = num(ci90[, 2]),
       columns = I(colnames(ci)), ml_logLik = num(logLik(refitML(m))))
}

influence_block <- function(m, spec) {
  g <- spec$python$groups
  inf <- influence(m, groups = g)
  cd <- cooks.distance(inf)
  fe <- inf[[1]]
  fe1 <- inf[[2]]
  list(group = g, clusters = I(as.character(rownames(fe1))), cooks_distance = num(cd),
       fixef = obj(setNames(num(fe), rename_rows(names(fe), spec$names))),
       fixef_deleted = lapply(setNames(seq_len(ncol(fe1)), rename_rows(colnames(fe1), spec$names)),
                              function(j) num(fe1[, j])),
       n_clusters = nrow(fe1))
}

out <- list(
  versions = list(R = R.version.string, lme4 = as.character(packageVersion("lme4")),
                  lmerTest = as.character(packageVersion("lmerTest")),
                  jsonlite = as.character(packageVersion("jsonlite"))),
  data_files = lapply(setNames(names(data_sets), names(data_sets)),
                      function(n) file.path("tests", "reference", "data", paste0(n, ".csv"))),
  models = list()
)

for (name in names(models)) {
  spec <- models[[name]]
  message("model ", name)
  m <- fit(spec)
  block <- list(data = spec$data, formula = spec$formula, python = spec$python,
                python_names = obj(spec$names), logLik_reml = num(logLik(m)),
                isSingular = isSingular(m))
  block$confint_profile <- profile_block(m, spec)
  if (!name %in% c("dyestuff2", "sleepstudy_int")) block$influence <- influence_block(m, spec)
  out$models[[name]] <- block
}

# ---- printed tables: the formatting lmmcourse.stats._display imitates ----------------------
pv <- c(0.5, 0.0123456, 0.001234, 1.234e-5, 3.26e-06, 1e-17, 0, 1, 0.049999, 2.5e-10)
m_ss <- fit(models$sleepstudy_slope)
m_si <- fit(models$sleepstudy_int)
m_ss_ml <- update(m_ss, REML = FALSE)
m_si_ml <- update(m_si, REML = FALSE)
out$display <- list(
  format_pval_input = pv,
  format_pval_digits3 = I(format.pval(pv, digits = 3)),
  format_pval_digits3_eps = I(format.pval(pv, digits = 3, eps = .Machine$double.eps)),
  format_pval_single = I(vapply(pv, function(p) format.pval(p, digits = 3,
                                                        eps = .Machine$double.eps), "")),
  summary_sleepstudy_slope = I(capture.output(print(coef(summary(m_ss)), digits = 4))),
  printCoefmat_sleepstudy_slope = I(capture.output(printCoefmat(coef(summary(m_ss)), digits = 4))),
  printCoefmat_sleepstudy_slope_kr = I(capture.output(printCoefmat(
    coef(summary(m_ss, ddf = "Kenward-Roger")), digits = 4))),
  anova_sleepstudy_slope = I(capture.output(print(anova(m_ss)))),
  ranova_sleepstudy_slope = I(capture.output(print(ranova(m_ss)))),
  anova_ml_compare = I(capture.output(print(anova(m_si_ml, m_ss_ml)))),
  confint_sleepstudy_slope = I(capture.output(print(suppressWarnings(
    confint(m_ss, oldNames = FALSE)))))
)

path <- file.path(out_dir, "round2_infer.json")
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, na = "null", null = "null", pretty = TRUE),
           path)
message("wrote ", path)
