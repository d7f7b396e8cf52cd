#!/usr/bin/env Rscript
# Reference values for the fitting engine (lmmcourse.stats._fit) and for uncorrelated random slopes,
# computed with lme4 / lmerTest / pbkrtest / performance on data sets that are not the lesson's.
# Run from the repository root:
#
#     Rscript tools/reference_round2_fit.R
#
# Writes
#   tests/reference/data/{Orange,Exam,cake,ChickWeight,Hsb82}.csv   (inputs, plain CSV)
#   tests/reference/round2_fit.json
# Every model is fitted to the data as read back from the CSV, so Python sees the same numbers.
# Each model is fitted with all three of lme4's optimisers and the best (RE)ML fit is kept.
#
# JSON layout: versions; models = {name: {formula, reml: FIT, ml: FIT, satterthwaite, kenward_roger,
# ranova, ranef, icc, r2_nakagawa, [f_tests], [compare_correlated, compare_intercept]}} (benchmark
# models carry only formula/reml/ml); orange_subsets = [{trees, ages, reml: FIT, ml: FIT,
# satterthwaite}]. FIT = {fixef, logLik, npar, theta (lme4 order), sigma, varcorr: one
# {group, terms, cov} per random term (two for (x || g)), isSingular}. Tables follow lmerTest's rows
# (term names as R prints them); compare_* is anova(reduced, full) with npar, logLik, Chisq, Df.
# R is needed only to regenerate these files, never by the tests or CI.

suppressPackageStartupMessages({
  library(lme4)
  library(lmerTest)
  library(pbkrtest)
  library(performance)
  library(jsonlite)
  library(mlmRev)
})

options(warn = 1)
out_dir <- file.path("tests", "reference")
data_dir <- file.path(out_dir, "data")
if (!file.exists("pyproject.toml")) stop("run this script from the repository root")
dir.create(data_dir, recursive = TRUE, showWarnings = FALSE)

versions <- list(
  R = R.version.string,
  lme4 = as.character(packageVersion("lme4")),
  lmerTest = as.character(packageVersion("lmerTest")),
  pbkrtest = as.character(packageVersion("pbkrtest")),
  performance = as.character(packageVersion("performance")),
  mlmRev = as.character(packageVersion("mlmRev"))
)

num <- function(x) as.numeric(x)
arr <- function(x) I(unname(x))
obj <- function(x) as.list(x)

write_data <- function(df, name) {
  path <- file.path(data_dir, name)
  write.csv(df, path, row.names = FALSE)
  message("wrote ", path)
  read.csv(path, stringsAsFactors = FALSE)
}

# lme4's default optimiser (nloptwrap) can stop on a boundary that is not the optimum (Orange: it
# reports logLik -133.1055 with the intercept variance at 0, while bobyqa reaches -132.9983 with
# correlation -1). Fit with each of lme4's optimisers and keep the largest (RE)ML log-likelihood:
# the reference is the true optimum, whichever optimiser found it.
fit <- function(formula, data, REML = TRUE) {
  best <- NULL
  for (opt in c("nloptwrap", "bobyqa", "Nelder_Mead")) {
    ctrl <- lmerControl(optimizer = opt)
    m <- suppressWarnings(suppressMessages(
      eval(bquote(lmerTest::lmer(.(formula), data = .(data), REML = .(REML), control = .(ctrl))))))
    if (is.null(best) || num(logLik(m)) > num(logLik(best)) + 1e-9) best <- m
  }
  best
}

# --- data ----------------------------------------------------------------------------------------
orange <- as.data.frame(Orange)
orange$Tree <- as.character(orange$Tree)
orange$a <- orange$age / 1000
orange <- write_data(orange[, c("Tree", "age", "a", "circumference")], "Orange.csv")

exam <- as.data.frame(mlmRev::Exam)[, c("school", "student", "normexam", "standLRT")]
exam$school <- as.character(exam$school)
exam <- write_data(exam, "Exam.csv")

cake <- as.data.frame(lme4::cake)[, c("replicate", "recipe", "temp", "angle")]
cake$replicate <- as.character(cake$replicate)
cake$recipe <- as.character(cake$recipe)
cake$t10 <- (cake$temp - 200) / 10        # centred and scaled temperature
cake <- write_data(cake, "cake.csv")

chick <- as.data.frame(ChickWeight)[, c("Chick", "Time", "Diet", "weight")]
chick$Chick <- as.character(chick$Chick)
chick$Diet <- as.character(chick$Diet)
chick <- write_data(chick, "ChickWeight.csv")

hsb <- as.data.frame(mlmRev::Hsb82)[, c("school", "cses", "ses", "mAch")]
hsb$school <- as.character(hsb$school)
hsb <- write_data(hsb, "Hsb82.csv")

# --- pieces of one fit ---------------------------------------------------------------------------
varcorr_blocks <- function(m) {
  # one entry per random-effect term (two for (x || g)), each with its terms and covariance
  vc <- VarCorr(m)
  lapply(seq_along(vc), function(i) {
    g <- vc[[i]]
    list(group = names(vc)[i], terms = arr(colnames(g)), cov = unname(as.matrix(g)[, , drop = FALSE]))
  })
}

fit_block <- function(m) {
  fe <- fixef(m)
  ll <- logLik(m)
  list(
    fixef = obj(fe),
    logLik = num(ll),
    npar = num(attr(ll, "df")),
    theta = arr(getME(m, "theta")),
    sigma = sigma(m),
    varcorr = varcorr_blocks(m),
    isSingular = isSingular(m)
  )
}

coef_table <- function(m, ddf) {
  ct <- summary(m, ddf = ddf)$coefficients
  lapply(seq_len(nrow(ct)), function(i) list(
    term = rownames(ct)[i],
    estimate = num(ct[i, "Estimate"]), std_error = num(ct[i, "Std. Error"]),
    df = num(ct[i, "df"]), t = num(ct[i, "t value"]), p_value = num(ct[i, "Pr(>|t|)"])
  ))
}

ranova_table <- function(m) {
  r <- as.data.frame(ranova(m))
  lapply(seq_len(nrow(r)), function(i) list(
    term = rownames(r)[i], npar = num(r$npar[i]), logLik = num(r$logLik[i]),
    LRT = num(r$LRT[i]), Df = num(r$Df[i]), p_value = num(r[["Pr(>Chisq)"]][i])
  ))
}

icc_r2 <- function(m) {
  ic <- tryCatch(suppressWarnings(performance::icc(m)), error = function(e) NULL)
  r2 <- tryCatch(suppressWarnings(performance::r2_nakagawa(m)), error = function(e) NULL)
  g <- function(x, k) if (is.null(x) || !(k %in% names(x))) NA_real_ else num(x[[k]])
  list(
    icc = list(adjusted = g(ic, "ICC_adjusted"), unadjusted = g(ic, "ICC_unadjusted")),
    r2_nakagawa = list(marginal = g(r2, "R2_marginal"), conditional = g(r2, "R2_conditional"))
  )
}

ranef_long <- function(m) {
  # works for (x || g) too: ranef() then has one data frame with both columns
  re <- ranef(m, condVar = TRUE)
  d <- re[[1]]
  pv <- attr(d, "postVar")
  if (!is.list(pv)) pv <- list(pv)          # (x || g): one array per term
  # column j of d -> (array, index within it)
  which_arr <- unlist(lapply(seq_along(pv), function(t) rep(t, dim(pv[[t]])[1])))
  which_idx <- unlist(lapply(seq_along(pv), function(t) seq_len(dim(pv[[t]])[1])))
  rows <- list()
  for (i in seq_len(nrow(d))) for (j in seq_len(ncol(d))) {
    a <- pv[[which_arr[j]]]
    v <- a[which_idx[j], which_idx[j], i]
    rows[[length(rows) + 1]] <- list(group = rownames(d)[i], effect = colnames(d)[j],
                                     blup = num(d[i, j]), sd = sqrt(num(v)))
  }
  rows
}

f_test <- function(m, L) {
  out <- list()
  for (ddf in c("Satterthwaite", "Kenward-Roger")) {
    f <- contest(m, L, joint = TRUE, ddf = ddf)
    out[[if (ddf == "Satterthwaite") "satterthwaite" else "kenward_roger"]] <- list(
      F = num(f[["F value"]]), NumDF = num(f$NumDF), DenDF = num(f$DenDF), p_value = num(f[["Pr(>F)"]]))
  }
  out
}

compare_block <- function(reduced, full) {
  a <- suppressMessages(anova(reduced, full))
  list(npar = arr(num(a$npar)), logLik = arr(num(a$logLik)), Chisq = num(a$Chisq[2]),
       Df = num(a$Df[2]), p_value = num(a[["Pr(>Chisq)"]][2]))
}

full_record <- function(m, formula_text, contrasts = list()) {
  rec <- list(
    formula = formula_text,
    reml = fit_block(m),
    ml = fit_block(refitML(m)),
    satterthwaite = coef_table(m, "Satterthwaite"),
    kenward_roger = coef_table(m, "Kenward-Roger"),
    ranova = ranova_table(m),
    ranef = ranef_long(m)
  )
  rec <- c(rec, icc_r2(m))
  if (length(contrasts)) rec$f_tests <- lapply(contrasts, function(L) c(list(columns = arr(colnames(L)),
                                                                        L = unname(L)), f_test(m, L)))
  rec
}

# --- Orange: correlation -1 at the REML optimum --------------------------------------------------
models <- list()
m_or <- fit(circumference ~ a + (a | Tree), orange)
models$orange <- full_record(m_or, "circumference ~ a + (a | Tree)")

set.seed(20261205)
trees <- sort(unique(orange$Tree))
subsets <- list()
for (i in 1:24) {
  # Orange has only 5 trees: vary the trees (4 or 5) and the measurement occasions (5 to 7 of 7)
  keep <- sort(sample(trees, sample(4:5, 1)))
  ages <- sort(sample(sort(unique(orange$age)), sample(5:7, 1)))
  d <- orange[orange$Tree %in% keep & orange$age %in% ages, ]
  m <- fit(circumference ~ a + (a | Tree), d)
  mml <- fit(circumference ~ a + (a | Tree), d, REML = FALSE)
  sat <- tryCatch(coef_table(m, "Satterthwaite"), error = function(e) NULL)
  subsets[[i]] <- list(trees = arr(keep), ages = arr(ages), reml = fit_block(m), ml = fit_block(mml), satterthwaite = sat)
}

# --- uncorrelated slopes: Exam and cake ----------------------------------------------------------
m_ex_u <- fit(normexam ~ standLRT + (standLRT || school), exam)
m_ex_c <- fit(normexam ~ standLRT + (standLRT | school), exam)
m_ex_i <- fit(normexam ~ standLRT + (1 | school), exam)
models$exam_uncorrelated <- full_record(m_ex_u, "normexam ~ standLRT + (standLRT || school)")
models$exam_uncorrelated$compare_correlated <- compare_block(m_ex_u, m_ex_c)
models$exam_uncorrelated$compare_intercept <- compare_block(m_ex_i, m_ex_u)

Lc <- rbind(c(0, 1, 0, 0, 0, 0), c(0, 0, 1, 0, 0, 0))
m_ck_u <- fit(angle ~ recipe * t10 + (t10 || replicate), cake)
colnames(Lc) <- names(fixef(m_ck_u))
m_ck_c <- fit(angle ~ recipe * t10 + (t10 | replicate), cake)
models$cake_uncorrelated <- full_record(m_ck_u, "angle ~ recipe * t10 + (t10 || replicate)", list(recipe = Lc))
models$cake_uncorrelated$compare_correlated <- compare_block(m_ck_u, m_ck_c)

# --- benchmark models and the no-intercept ranova ------------------------------------------------
models$chick_slope <- full_record(fit(weight ~ Time + (Time | Chick), chick), "weight ~ Time + (Time | Chick)")
models$chick_nointercept <- list(formula = "weight ~ Time + (0 + Time | Chick)",
                                 reml = fit_block(fit(weight ~ Time + (0 + Time | Chick), chick)),
                                 ranova = ranova_table(fit(weight ~ Time + (0 + Time | Chick), chick)))
m_ex_c_rec <- list(formula = "normexam ~ standLRT + (standLRT | school)", reml = fit_block(m_ex_c),
                   ml = fit_block(refitML(m_ex_c)))
models$exam_slope <- m_ex_c_rec
m_hsb <- fit(mAch ~ cses + (cses | school), hsb)
models$hsb82_slope <- list(formula = "mAch ~ cses + (cses | school)", reml = fit_block(m_hsb),
                           ml = fit_block(refitML(m_hsb)))

out <- list(versions = versions, models = models, orange_subsets = subsets)
path <- file.path(out_dir, "round2_fit.json")
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, na = "null", null = "null", pretty = TRUE), path)
message("wrote ", path)
