# Golden numbers for perception.dashboard.findings.domain_minus_total_variance:
# the variance of a domain mean minus the national mean when the domains are the strata.
# Run from this folder: Rscript make_group_vs_national.R  (writes group_vs_national.json)
suppressPackageStartupMessages({library(survey); library(jsonlite)})
apistrat <- read.csv("apistrat.csv")
dstrat <- svydesign(id = ~1, strata = ~stype, weights = ~pw, fpc = ~fpc, data = apistrat)
by_type <- svyby(~api00, ~stype, dstrat, svymean, covmat = TRUE)
national <- svymean(~api00, dstrat)
share <- tapply(apistrat$pw, apistrat$stype, sum) / sum(apistrat$pw)
share <- share[rownames(coef(by_type) |> as.matrix())]
cases <- lapply(seq_along(share), function(g) {
  weights <- -as.numeric(share)
  weights[g] <- weights[g] + 1
  contrast <- svycontrast(by_type, weights)
  list(
    stype = names(share)[g],
    share = unname(share[g]),
    se_group = unname(SE(by_type)[g]),
    se_national = unname(SE(national)[1]),
    difference = unname(coef(contrast)[1]),
    se_difference = unname(SE(contrast)[1]),
    r_call = paste0(
      "svycontrast(svyby(~api00, ~stype, dstrat, svymean, covmat = TRUE), ",
      "w) with w = -share, w[", g, "] + 1; share = stratum weight totals / total"
    )
  )
})
out <- list(
  meta = list(
    r = R.version.string,
    survey = as.character(packageVersion("survey")),
    design = "svydesign(id = ~1, strata = ~stype, weights = ~pw, fpc = ~fpc, data = apistrat)",
    note = paste(
      "National mean = sum of share x stratum mean with fixed stratum weight totals, so the",
      "contrast is the exact linearised variance of (stratum mean - national mean)."
    )
  ),
  cases = cases
)
write_json(out, "group_vs_national.json", auto_unbox = TRUE, digits = NA, pretty = TRUE)
