#!/usr/bin/env Rscript
# Reference values for the tests of lmmcourse.stats, computed with lme4 / lmerTest / pbkrtest /
# performance.  Run from the repository root:
#
#     Rscript tools/reference.R
#
# Writes
#   tests/reference/data/{sleepstudy,Dyestuff,Orthodont,kr_bench}.csv   (inputs, plain CSV)
#   tests/reference/{sleepstudy,dyestuff,orthodont,phaa_clinics,kr_bench}.json
# The phaa_clinics part runs only when data/phaa_clinics.csv exists (it is made by `make data`).
# Every model is fitted to the data read back from the CSV that the Python tests read, so both
# sides see exactly the same numbers.  The JSON layout is documented in tests/reference/README.md.
# R is needed only to regenerate these files (see tools/README.md), never by tests or CI.

suppressPackageStartupMessages({
  library(lme4)
  library(lmerTest)
  library(pbkrtest)
  library(performance)
  library(jsonlite)
})

options(warn = 1)                          # show convergence warnings as they happen
out_dir <- file.path("tests", "reference")
data_dir <- file.path(out_dir, "data")
if (!file.exists("pyproject.toml")) stop("run this script from the repository root: Rscript tools/reference.R")
dir.create(data_dir, recursive = TRUE, showWarnings = FALSE)

versions <- list(
  R = R.version.string,
  lme4 = as.character(packageVersion("lme4")),
  lmerTest = as.character(packageVersion("lmerTest")),
  pbkrtest = as.character(packageVersion("pbkrtest")),
  performance = as.character(packageVersion("performance")),
  nlme = as.character(packageVersion("nlme")),
  Matrix = as.character(packageVersion("Matrix")),
  jsonlite = as.character(packageVersion("jsonlite"))
)

write_json_file <- function(x, name) {
  path <- file.path(out_dir, name)
  writeLines(toJSON(x, auto_unbox = TRUE, digits = NA, na = "null", null = "null", pretty = TRUE), path)
  message("wrote ", path)
}

write_data <- function(df, name) {
  path <- file.path(data_dir, name)
  write.csv(df, path, row.names = FALSE)
  message("wrote ", path)
  read.csv(path, stringsAsFactors = FALSE)
}

# Fit with the data frame itself placed in the call: ranova() and anova() re-evaluate the call in
# other frames, where a local variable name would not be found.
fit <- function(formula, data, REML = TRUE) {
  eval(bquote(lmerTest::lmer(.(formula), data = .(data), REML = .(REML))))
}

arr <- function(x) I(unname(x))            # always a JSON array, even of length 1
obj <- function(x) as.list(x)              # named vector -> JSON object
num <- function(x) as.numeric(x)           # drop attributes ("df", "nobs", ...)

# ---------------------------------------------------------------------------------------------
# pieces of one fitted model
# ---------------------------------------------------------------------------------------------

varcorr_list <- function(m) {
  vc <- VarCorr(m)
  stopifnot(length(vc) == 1)               # every model here has one grouping factor
  g <- vc[[1]]
  terms <- colnames(g)
  cov <- matrix(as.numeric(g), nrow(g), dimnames = list(terms, terms))
  sds <- sqrt(diag(cov))
  cor <- cov / outer(sds, sds)
  list(
    group = names(vc)[1],
    terms = arr(terms),
    re_var = obj(setNames(diag(cov), terms)),
    re_sd = obj(setNames(sds, terms)),
    re_cov = lapply(setNames(terms, terms), function(r) obj(setNames(cov[r, ], terms))),
    re_cor = lapply(setNames(terms, terms), function(r) obj(setNames(cor[r, ], terms))),
    sigma2_u = num(cov[1, 1]),             # variance of the random intercept
    sigma2_e = sigma(m)^2,
    sigma_e = sigma(m)
  )
}

fit_block <- function(m) {
  fe <- fixef(m)
  v <- as.matrix(vcov(m))
  ll <- logLik(m)
  res <- list(
    fixef = obj(fe),
    se = obj(setNames(sqrt(diag(v)), names(fe))),
    vcov = lapply(setNames(names(fe), names(fe)), function(r) obj(setNames(v[r, ], names(fe)))),
    logLik = num(ll),
    npar = num(attr(ll, "df")),
    theta = arr(getME(m, "theta")),
    varcorr = varcorr_list(m),
    isSingular = isSingular(m)
  )
  if (isREML(m)) {
    res$REMLcrit <- num(REMLcrit(m))     # -2 * REML logLik
  } else {
    res$AIC <- AIC(m)
    res$BIC <- BIC(m)
    res$deviance <- num(deviance(m))     # -2 * ML logLik
  }
  res
}

coef_table <- function(m, ddf) {
  ct <- summary(m, ddf = ddf)$coefficients
  lapply(seq_len(nrow(ct)), function(i) list(
    term = rownames(ct)[i],
    estimate = num(ct[i, "Estimate"]),
    std_error = num(ct[i, "Std. Error"]),
    df = num(ct[i, "df"]),
    t = num(ct[i, "t value"]),
    p_value = num(ct[i, "Pr(>|t|)"])
  ))
}

ranova_table <- function(m) {
  r <- as.data.frame(ranova(m))
  lapply(seq_len(nrow(r)), function(i) list(
    term = rownames(r)[i],
    npar = num(r$npar[i]),
    logLik = num(r$logLik[i]),
    AIC = num(r$AIC[i]),
    LRT = num(r$LRT[i]),
    Df = num(r$Df[i]),
    p_value = num(r[["Pr(>Chisq)"]][i])
  ))
}

icc_r2 <- function(m) {
  ic <- tryCatch(suppressWarnings(performance::icc(m)), error = function(e) NULL)
  r2 <- tryCatch(suppressWarnings(performance::r2_nakagawa(m)), error = function(e) NULL)
  # performance returns NA (or drops the element) for a singular fit
  g <- function(x, k) if (is.null(x) || !(k %in% names(x))) NA_real_ else num(x[[k]])
  list(
    icc = list(adjusted = g(ic, "ICC_adjusted"), unadjusted = g(ic, "ICC_unadjusted")),
    r2_nakagawa = list(marginal = g(r2, "R2_marginal"), conditional = g(r2, "R2_conditional"))
  )
}

ranef_long <- function(m) {
  re <- ranef(m, condVar = TRUE)
  stopifnot(length(re) == 1)
  d <- re[[1]]
  pv <- attr(d, "postVar")                 # q x q x n_groups conditional covariance
  rows <- list()
  for (i in seq_len(nrow(d))) for (j in seq_len(ncol(d))) {
    rows[[length(rows) + 1]] <- list(
      group = rownames(d)[i],
      effect = colnames(d)[j],
      blup = num(d[i, j]),
      sd = sqrt(num(pv[j, j, i]))
    )
  }
  rows
}

contest_record <- function(m, L, name, description) {
  L <- rbind(L)
  colnames(L) <- names(fixef(m))
  rec <- list(name = name, description = description, columns = arr(colnames(L)), L = unname(L))
  for (ddf in c("Satterthwaite", "Kenward-Roger")) {
    key <- if (ddf == "Satterthwaite") "satterthwaite" else "kenward_roger"
    f <- contest(m, L, joint = TRUE, ddf = ddf)
    block <- list(
      F = num(f[["F value"]]), NumDF = num(f$NumDF), DenDF = num(f$DenDF),
      p_value = num(f[["Pr(>F)"]])
    )
    if (nrow(L) == 1) {                    # the t form of the same one-row test
      t1 <- contest(m, L, joint = FALSE, ddf = ddf)
      block$estimate <- num(t1$Estimate)
      block$std_error <- num(t1[["Std. Error"]])
      block$df <- num(t1$df)
      block$t <- num(t1[["t value"]])
      block$p_value_t <- num(t1[["Pr(>|t|)"]])
    }
    rec[[key]] <- block
  }
  rec
}

model_record <- function(m, formula_text, python, python_names, contests = list()) {
  stopifnot(isREML(m))
  mml <- refitML(m)
  fe <- names(fixef(m))
  missing_names <- setdiff(fe, names(python_names))
  if (length(missing_names)) stop("no Python name given for: ", paste(missing_names, collapse = ", "))
  re_terms <- colnames(ranef(m)[[1]])
  re_python <- python_names[re_terms]
  re_python["(Intercept)"] <- python$groups  # statsmodels names the random intercept after the groups
  c(
    list(
      formula = formula_text,
      python = python,
      fixef_names = arr(fe),
      python_names = obj(python_names[fe]),
      re_terms = arr(re_terms),
      re_python_names = obj(re_python),
      n_obs = nobs(m),
      n_groups = num(ngrps(m)[1]),
      reml = fit_block(m),
      ml = fit_block(mml),
      satterthwaite = coef_table(m, "Satterthwaite"),
      kenward_roger = coef_table(m, "Kenward-Roger"),
      contests = contests,
      ranova = ranova_table(m)
    ),
    icc_r2(m),
    list(ranef = ranef_long(m))
  )
}

anova_record <- function(reduced, full, name, refit = TRUE) {
  labels <- c(deparse(substitute(reduced)), deparse(substitute(full)))
  a <- as.data.frame(anova(reduced, full, refit = refit))
  stopifnot(identical(rownames(a), c("reduced", "full")))   # anova orders by npar
  list(
    name = name,
    refit = refit,
    reduced = labels[1],
    full = labels[2],
    table = lapply(seq_len(nrow(a)), function(i) list(
      model = labels[i],
      npar = num(a$npar[i]),
      AIC = num(a$AIC[i]),
      BIC = num(a$BIC[i]),
      logLik = num(a$logLik[i]),
      deviance = num(a$deviance[i]),
      Chisq = num(a$Chisq[i]),
      Df = num(a$Df[i]),
      p_value = num(a[["Pr(>Chisq)"]][i])
    ))
  )
}

# contrast row: weights for named fixed effects, zero elsewhere
contrast <- function(m, weights) {
  fe <- names(fixef(m))
  stopifnot(all(names(weights) %in% fe))
  L <- setNames(numeric(length(fe)), fe)
  L[names(weights)] <- weights
  L
}

# ---------------------------------------------------------------------------------------------
# sleepstudy (lme4)
# ---------------------------------------------------------------------------------------------
local({
  d <- lme4::sleepstudy
  d$Subject <- as.character(d$Subject)
  d <- write_data(d[, c("Reaction", "Days", "Subject")], "sleepstudy.csv")
  d$Subject <- factor(d$Subject)

  m_int <- fit(Reaction ~ Days + (1 | Subject), d)
  m_slope <- fit(Reaction ~ Days + (Days | Subject), d)
  pn <- c("(Intercept)" = "Intercept", Days = "Days")
  L2 <- rbind(contrast(m_int, c("(Intercept)" = 1)), contrast(m_int, c(Days = 1)))

  # Box-Cox profile: ML fit of the transformed response + Jacobian term
  y <- d$Reaction
  boxcox <- lapply(c(-1, -0.5, 0, 0.5, 1), function(lam) {
    d$z <- if (lam == 0) log(y) else (y^lam - 1) / lam
    mz <- fit(z ~ Days + (1 | Subject), d, REML = FALSE)
    ll <- num(logLik(mz))
    jac <- (lam - 1) * sum(log(y))
    list(lambda = lam, logLik_ml_transformed = ll, jacobian = jac, profile_logLik = ll + jac,
         sigma2_u = num(VarCorr(mz)[[1]][1, 1]), sigma2_e = sigma(mz)^2, fixef = obj(fixef(mz)))
  })

  write_json_file(list(
    dataset = "sleepstudy",
    source = "lme4::sleepstudy",
    data_file = "tests/reference/data/sleepstudy.csv",
    versions = versions,
    models = list(
      m_int = model_record(
        m_int, "Reaction ~ Days + (1 | Subject)",
        list(formula = "Reaction ~ Days", groups = "Subject", re_formula = "1"), pn,
        contests = list(contest_record(m_int, L2, "intercept_and_days",
                                       "joint test (Intercept) = 0 and Days = 0"))),
      m_slope = model_record(
        m_slope, "Reaction ~ Days + (Days | Subject)",
        list(formula = "Reaction ~ Days", groups = "Subject", re_formula = "~Days"), pn,
        contests = list(contest_record(m_slope, L2, "intercept_and_days",
                                       "joint test (Intercept) = 0 and Days = 0")))
    ),
    comparisons = list(
      anova_record(m_int, m_slope, "m_int_vs_m_slope", refit = TRUE),
      anova_record(m_int, m_slope, "m_int_vs_m_slope_reml", refit = FALSE)
    ),
    boxcox = list(
      model = "Reaction ~ Days + (1 | Subject), REML = FALSE, response (y^lambda - 1)/lambda (log y at 0)",
      jacobian = "(lambda - 1) * sum(log(Reaction))",
      sum_log_y = sum(log(y)),
      profile = boxcox
    )
  ), "sleepstudy.json")
})

# ---------------------------------------------------------------------------------------------
# Dyestuff (lme4)
# ---------------------------------------------------------------------------------------------
local({
  d <- lme4::Dyestuff
  d$Batch <- as.character(d$Batch)
  d <- write_data(d[, c("Batch", "Yield")], "Dyestuff.csv")
  d$Batch <- factor(d$Batch)
  m <- fit(Yield ~ 1 + (1 | Batch), d)
  write_json_file(list(
    dataset = "Dyestuff",
    source = "lme4::Dyestuff",
    data_file = "tests/reference/data/Dyestuff.csv",
    versions = versions,
    models = list(
      m0 = model_record(m, "Yield ~ 1 + (1 | Batch)",
                        list(formula = "Yield ~ 1", groups = "Batch", re_formula = "1"),
                        c("(Intercept)" = "Intercept"))
    ),
    comparisons = list()
  ), "dyestuff.json")
})

# ---------------------------------------------------------------------------------------------
# Orthodont (nlme)
# ---------------------------------------------------------------------------------------------
local({
  d <- as.data.frame(nlme::Orthodont)
  d <- data.frame(distance = d$distance, age = d$age, Subject = as.character(d$Subject),
                  Sex = as.character(d$Sex), stringsAsFactors = FALSE)
  d <- write_data(d, "Orthodont.csv")
  d$Subject <- factor(d$Subject)
  d$Sex <- factor(d$Sex, levels = c("Male", "Female"))   # as in nlme: Male is the baseline
  m_int <- fit(distance ~ age + Sex + (1 | Subject), d)
  m_slope <- fit(distance ~ age + Sex + (age | Subject), d)
  pn <- c("(Intercept)" = "Intercept", age = "age",
          SexFemale = "C(Sex, Treatment('Male'))[T.Female]")
  L2 <- rbind(contrast(m_int, c(age = 1)), contrast(m_int, c(SexFemale = 1)))
  write_json_file(list(
    dataset = "Orthodont",
    source = "nlme::Orthodont (Sex levels Male, Female: Male is the baseline)",
    data_file = "tests/reference/data/Orthodont.csv",
    versions = versions,
    models = list(
      m_int = model_record(
        m_int, "distance ~ age + Sex + (1 | Subject)",
        list(formula = "distance ~ age + C(Sex, Treatment('Male'))", groups = "Subject",
             re_formula = "1"), pn,
        contests = list(contest_record(m_int, L2, "age_and_sex", "joint test age = 0 and SexFemale = 0"))),
      m_slope = model_record(
        m_slope, "distance ~ age + Sex + (age | Subject)",
        list(formula = "distance ~ age + C(Sex, Treatment('Male'))", groups = "Subject",
             re_formula = "~age"), pn,
        contests = list(contest_record(m_slope, L2, "age_and_sex", "joint test age = 0 and SexFemale = 0")))
    ),
    comparisons = list(
      anova_record(m_int, m_slope, "m_int_vs_m_slope", refit = TRUE),
      anova_record(m_int, m_slope, "m_int_vs_m_slope_reml", refit = FALSE)
    )
  ), "orthodont.json")
})

# ---------------------------------------------------------------------------------------------
# KR benchmark data: 40 clusters x 40 rows, random intercept and slope
# ---------------------------------------------------------------------------------------------
local({
  set.seed(20240610)
  n_groups <- 40
  m_size <- 40
  g <- rep(sprintf("g%02d", seq_len(n_groups)), each = m_size)
  z <- rep(rep(c(0, 1), length.out = n_groups), each = m_size)      # cluster-level covariate
  x <- round(rnorm(n_groups * m_size), 4)
  u0 <- rep(rnorm(n_groups, sd = 2), each = m_size)
  u1 <- rep(rnorm(n_groups, sd = 0.7), each = m_size)
  y <- round(10 + 1.5 * x + 1 * z + u0 + u1 * x + rnorm(n_groups * m_size, sd = 3), 4)
  d <- write_data(data.frame(y = y, x = x, z = z, g = g, stringsAsFactors = FALSE), "kr_bench.csv")
  d$g <- factor(d$g)

  one <- function(form, re_formula) {
    t_fit <- system.time(m <- fit(form, d))
    t_kr <- system.time(vc <- pbkrtest::vcovAdj(m))
    t_sum <- system.time(kr <- coef_table(m, "Kenward-Roger"))
    list(
      formula = paste(deparse(form), collapse = ""),
      python = list(formula = "y ~ x + z", groups = "g", re_formula = re_formula),
      fixef_names = arr(names(fixef(m))),
      python_names = list("(Intercept)" = "Intercept", x = "x", z = "z"),
      reml = fit_block(m),
      kenward_roger = kr,
      satterthwaite = coef_table(m, "Satterthwaite"),
      seconds = list(
        lmer_fit = num(t_fit["elapsed"]),
        pbkrtest_vcovAdj = num(t_kr["elapsed"]),
        lmerTest_summary_kenward_roger = num(t_sum["elapsed"])
      )
    )
  }
  write_json_file(list(
    dataset = "kr_bench",
    source = "simulated in tools/reference.R with set.seed(20240610)",
    data_file = "tests/reference/data/kr_bench.csv",
    design = "y = 10 + 1.5 x + z + u0 + u1 x + e; u0 ~ N(0, 2^2), u1 ~ N(0, 0.7^2) independent, e ~ N(0, 3^2)",
    n_obs = nrow(d),
    n_groups = nlevels(d$g),
    machine = paste(Sys.info()[["sysname"]], Sys.info()[["machine"]]),
    versions = versions,
    models = list(
      intercept = one(y ~ x + z + (1 | g), "1"),
      slope = one(y ~ x + z + (x | g), "~x")
    )
  ), "kr_bench.json")
})

# ---------------------------------------------------------------------------------------------
# phaa_clinics (course data, generated by `make data`)
# ---------------------------------------------------------------------------------------------
phaa_path <- file.path("data", "phaa_clinics.csv")
if (!file.exists(phaa_path)) {
  message("SKIPPED phaa_clinics: ", phaa_path, " not found (run `make data` first)")
} else local({
  clinics <- read.csv(phaa_path, stringsAsFactors = FALSE)
  clinics$clinic_id <- factor(clinics$clinic_id)
  clinics$clinic_urban <- factor(clinics$clinic_urban, levels = c("rural", "urban"))
  clinics$smoker <- factor(clinics$smoker, levels = c("No", "Yes"))
  clinics$age_mean <- ave(clinics$age, clinics$clinic_id)      # clinic mean age
  clinics$age_within <- clinics$age - clinics$age_mean
  stopifnot(!anyNA(clinics[, c("sbp", "age", "smoker", "bmi", "female", "clinic_urban",
                               "clinic_size", "clinic_id")]))

  m0 <- fit(sbp ~ 1 + (1 | clinic_id), clinics)
  m1 <- fit(sbp ~ age + smoker + bmi + female + (1 | clinic_id), clinics)
  m2 <- fit(sbp ~ age + smoker + bmi + female + clinic_urban + scale(clinic_size)
             + (1 | clinic_id), clinics)
  m3 <- fit(sbp ~ age + smoker + bmi + female + clinic_urban + scale(clinic_size)
             + (1 + smoker | clinic_id), clinics)
  m3_text <- fit(sbp ~ age + smoker + bmi + female + clinic_urban
                  + (1 + smoker | clinic_id), clinics)
  m_ctx <- fit(sbp ~ age_within + age_mean + smoker + bmi + female + clinic_urban
                + scale(clinic_size) + (1 | clinic_id), clinics)

  pn <- c("(Intercept)" = "Intercept", age = "age", smokerYes = "smoker[T.Yes]", bmi = "bmi",
          female = "female", clinic_urbanurban = "clinic_urban[T.urban]",
          "scale(clinic_size)" = "clinic_size_z", age_within = "age_within", age_mean = "age_mean")
  py <- function(fixed, re = "1") list(formula = fixed, groups = "clinic_id", re_formula = re)
  fx1 <- "sbp ~ age + smoker + bmi + female"
  fx2 <- paste(fx1, "+ clinic_urban + clinic_size_z")

  L_m2 <- rbind(contrast(m2, c(clinic_urbanurban = 1)), contrast(m2, c("scale(clinic_size)" = 1)))
  L_ctx <- contrast(m_ctx, c(age_within = -1, age_mean = 1))

  sz <- clinics$clinic_size
  write_json_file(list(
    dataset = "phaa_clinics",
    source = "data/phaa_clinics.csv (lmmcourse.data, `make data`)",
    data_file = "data/phaa_clinics.csv",
    data_md5 = unname(tools::md5sum(phaa_path)),   # compare to spot a stale fixture
    n_obs = nrow(clinics),
    preparation = list(
      clinic_id = "factor",
      clinic_urban = "factor, levels rural, urban (rural is the baseline)",
      smoker = "factor, levels No, Yes (No is the baseline)",
      clinic_size_z = "scale(clinic_size) over the patient rows: (clinic_size - mean) / sd, sd with n - 1",
      clinic_size_mean = mean(sz),
      clinic_size_sd = sd(sz),
      age_mean = "clinic mean of age over the patient rows",
      age_within = "age - age_mean"
    ),
    versions = versions,
    models = list(
      m0 = model_record(m0, "sbp ~ 1 + (1 | clinic_id)", py("sbp ~ 1"), pn),
      m1 = model_record(m1, "sbp ~ age + smoker + bmi + female + (1 | clinic_id)", py(fx1), pn),
      m2 = model_record(
        m2, "sbp ~ age + smoker + bmi + female + clinic_urban + scale(clinic_size) + (1 | clinic_id)",
        py(fx2), pn,
        contests = list(contest_record(m2, L_m2, "urban_and_size",
                                       "joint test clinic_urbanurban = 0 and scale(clinic_size) = 0"))),
      m3 = model_record(
        m3, "sbp ~ age + smoker + bmi + female + clinic_urban + scale(clinic_size) + (1 + smoker | clinic_id)",
        py(fx2, "~smoker"), pn),
      m3_text = model_record(
        m3_text, "sbp ~ age + smoker + bmi + female + clinic_urban + (1 + smoker | clinic_id)",
        py(paste(fx1, "+ clinic_urban"), "~smoker"), pn),
      m_ctx = model_record(
        m_ctx, paste("sbp ~ age_within + age_mean + smoker + bmi + female + clinic_urban",
                     "+ scale(clinic_size) + (1 | clinic_id)"),
        py("sbp ~ age_within + age_mean + smoker + bmi + female + clinic_urban + clinic_size_z"), pn,
        contests = list(contest_record(m_ctx, L_ctx, "contextual_age",
                                       "contextual effect of age: age_mean - age_within = 0")))
    ),
    comparisons = list(
      anova_record(m0, m1, "m0_vs_m1", refit = TRUE),
      anova_record(m1, m2, "m1_vs_m2", refit = TRUE),
      anova_record(m2, m3, "m2_vs_m3", refit = TRUE),
      anova_record(m2, m3, "m2_vs_m3_reml", refit = FALSE)
    )
  ), "phaa_clinics.json")
})

message("done")
