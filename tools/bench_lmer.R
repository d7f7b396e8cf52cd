#!/usr/bin/env Rscript
# Times lme4::lmer on the three random-slope models of the fit benchmark and writes
# benchmarks/r_timings.json (median seconds over repeated fits, after one warm-up fit).
# Run from the repository root:  Rscript tools/bench_lmer.R
# benchmarks/bench_stats.py reads the JSON and reports fit_tight's time as a ratio to lmer's;
# R is not needed to run the benchmark. Rerun this script on the machine whose ratio you want
# (both timings depend on the machine and on its load).

suppressPackageStartupMessages({
  library(lme4)
  library(jsonlite)
})
if (!file.exists("pyproject.toml")) stop("run this script from the repository root")
data_dir <- file.path("tests", "reference", "data")
repeats <- 21L

models <- list(
  chickweight = list(file = "ChickWeight.csv", formula = weight ~ Time + (Time | Chick)),
  exam = list(file = "Exam.csv", formula = normexam ~ standLRT + (standLRT | school)),
  hsb82 = list(file = "Hsb82.csv", formula = mAch ~ cses + (cses | school))
)

out <- list()
for (name in names(models)) {
  spec <- models[[name]]
  d <- read.csv(file.path(data_dir, spec$file), stringsAsFactors = FALSE)
  m <- lmer(spec$formula, data = d, REML = TRUE)          # warm-up (and the optimum)
  times <- numeric(repeats)
  for (i in seq_len(repeats)) {
    t0 <- as.numeric(Sys.time())
    invisible(lmer(spec$formula, data = d, REML = TRUE))
    times[i] <- as.numeric(Sys.time()) - t0
  }
  out[[name]] <- list(
    formula = paste(deparse(spec$formula), collapse = ""),
    n_obs = nrow(d),
    median_s = median(times),
    min_s = min(times),
    repeats = repeats,
    logLik = as.numeric(logLik(m))
  )
  message(sprintf("%-12s median %.4f s  min %.4f s", name, median(times), min(times)))
}
res <- list(
  what = "lme4::lmer(..., REML = TRUE) wall time, seconds",
  R = R.version.string,
  lme4 = as.character(packageVersion("lme4")),
  date = format(Sys.time(), "%Y-%m-%d %H:%M:%S %Z"),
  load_average = tryCatch(readLines("/proc/loadavg")[1], error = function(e) NA),
  models = out
)
writeLines(toJSON(res, auto_unbox = TRUE, digits = NA, pretty = TRUE), file.path("benchmarks", "r_timings.json"))
message("wrote benchmarks/r_timings.json")
