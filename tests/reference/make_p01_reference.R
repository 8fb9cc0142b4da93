## Proportions at p = 0 and p = 1: what R's svyciprop gives, and the defined interval
## perception uses there (Korn-Graubard with the domain's row count as effective sample size,
## df-adjusted, NCHS practice). Writes p01_design.csv and p01_expected.json beside this script.
## Run: cd tests/reference && Rscript make_p01_reference.R
suppressMessages({library(survey); library(jsonlite)})
set.seed(20260416)
n_psu <- 12; per <- 10
d <- data.frame(stratum = rep(1:2, each = n_psu * per / 2),
                psu = rep(1:n_psu, each = per))
d$w <- round(runif(nrow(d), 0.5, 2.5), 3)
d$region <- rep(rep(1:3, length.out = per), n_psu)
d$gender <- rep(c(1, 2), length.out = nrow(d))
d$gender[d$psu %% 3 == 0] <- 2
d$y <- rbinom(nrow(d), 1, 0.6)
d$y[d$region == 1 & d$gender == 2] <- 1   # every woman of region 1 says yes: p = 1
d$y[d$region == 3 & d$gender == 1] <- 0   # every man of region 3 says no: p = 0
write.csv(d, "p01_design.csv", row.names = FALSE)

des <- svydesign(ids = ~psu, strata = ~stratum, weights = ~w, data = d, nest = TRUE)
alpha <- 0.05
num <- function(x) if (is.na(x) || is.nan(x)) NULL else unname(x)
case <- function(id, cond) {
  sub <- if (is.null(cond)) des else eval(parse(text = sprintf("subset(des, %s)", cond)))
  m <- svymean(~y, sub)
  p <- unname(coef(m))[1]; se <- unname(SE(m))[1]
  beta <- confint(svyciprop(~y, sub, method = "beta"))
  logit <- confint(svyciprop(~y, sub, method = "logit"))
  ## svyciprop(method = "beta")'s own formula, with n.eff = nrow(sub) where p(1-p)/var is 0/0
  n <- nrow(sub); df <- degf(sub)
  n.eff <- if (se > 0) p * (1 - p) / se^2 else n
  n.eff <- n.eff * (qt(alpha / 2, n - 1) / qt(alpha / 2, df))^2
  lo <- qbeta(alpha / 2, n.eff * p, n.eff * (1 - p) + 1)
  hi <- qbeta(1 - alpha / 2, n.eff * p + 1, n.eff * (1 - p))
  list(id = id, domain = if (is.null(cond)) "all" else cond, n_rows = n, df = df,
       estimate = p, se = se,
       r_beta_ci = list(num(beta[1]), num(beta[2])),
       r_logit_ci = list(num(logit[1]), num(logit[2])),
       ci_low = lo, ci_high = hi)
}
cases <- list(
  case("national", NULL),
  case("region1_women_p1", "region == 1 & gender == 2"),
  case("region3_men_p0", "region == 3 & gender == 1"),
  case("region2", "region == 2")
)
out <- list(
  meta = list(
    generator = "make_p01_reference.R",
    r_version = R.version.string,
    survey_version = as.character(packageVersion("survey")),
    jsonlite_version = as.character(packageVersion("jsonlite")),
    design = "svydesign(ids = ~psu, strata = ~stratum, weights = ~w, data = d, nest = TRUE)",
    domain = "subset(des, <domain>): R's svyby/svyciprop route; df = degf(subset)",
    r_calls = list(
      r_beta_ci = "confint(svyciprop(~y, subset(des, <domain>), method = \"beta\"))",
      r_logit_ci = "confint(svyciprop(~y, subset(des, <domain>), method = \"logit\"))",
      ci = paste0("n.eff <- if (SE > 0) p * (1 - p) / SE^2 else nrow(sub); ",
                  "n.eff <- n.eff * (qt(alpha/2, nrow(sub) - 1) / qt(alpha/2, degf(sub)))^2; ",
                  "c(qbeta(alpha/2, n.eff * p, n.eff * (1 - p) + 1), ",
                  "qbeta(1 - alpha/2, n.eff * p + 1, n.eff * (1 - p)))")),
    note = paste0("ci_low/ci_high: svyciprop(method='beta')'s formula; where p is 0 or 1 ",
                  "(SE 0) R's own n.eff is 0/0 = NaN, and the domain's row count is used ",
                  "(NCHS). null = R returned NaN. Elsewhere ci equals r_beta_ci."),
    level = 0.95, tolerance = list(rtol = 1e-6)),
  cases = cases)
write(toJSON(out, auto_unbox = TRUE, digits = NA, pretty = TRUE, null = "null"), "p01_expected.json")
