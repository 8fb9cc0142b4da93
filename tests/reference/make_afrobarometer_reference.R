## make_afrobarometer_reference.R -- golden numbers for a design without PSU ids
##
## Afrobarometer Data, Tunisia, Round 8, available at afrobarometer.org (public release,
## via github.com/malouche/AfrobarometerData at commit b1e470ddb69b577f021c1cb7274df1c0a1d5296a).
## Input: afrobarometer_tun_r8.csv, written by make_afrobarometer_extract.py.
## Output: afrobarometer_tun_r8.json.  Regenerate with
##     cd tests/reference && Rscript make_afrobarometer_reference.R
##
## Design: delivered weights (withinwt_hh, mean 1), strata REGION x URBRUR, no PSU ids
## released, so each respondent is its own PSU within strata; no calibration.
## Recodes (from the value labels): trust items Q41G (police) and Q41I (courts):
## 2 Somewhat, 3 A lot -> 1; 0 Not at all, 1 Just a little -> 0; -1 missing, 8 refused,
## 9 don't know -> NA.  Q83: 1 most people can be trusted -> 1, 0 must be very careful -> 0,
## 8/9/-1 -> NA.  Q1 age: 998 refused, 999 don't know, -1 missing -> NA.
## Missing values are dropped from an estimate but stay in the design (na.rm = TRUE): the df
## is degf() of the full design, or of the domain for svyby, as in make_reference.R.

suppressPackageStartupMessages({
  library(survey)
  library(jsonlite)
})
options(survey.lonely.psu = "fail")

ab <- read.csv("afrobarometer_tun_r8.csv")
trust <- function(x) ifelse(x %in% c(2, 3), 1, ifelse(x %in% c(0, 1), 0, NA))
ab$trust_police <- trust(ab$Q41G)
ab$trust_courts <- trust(ab$Q41I)
ab$people_trusted <- ifelse(ab$Q83 == 1, 1, ifelse(ab$Q83 == 0, 0, NA))
ab$age <- ifelse(ab$Q1 %in% c(-1, 998, 999), NA, ab$Q1)
ab$stratum <- interaction(ab$REGION, ab$URBRUR, drop = TRUE)

design_call <- "svydesign(ids = ~1, strata = ~stratum, weights = ~withinwt_hh, data = ab)"
des <- eval(parse(text = design_call))

cases <- list()
for (item in c("trust_police", "trust_courts", "people_trusted")) {
  f <- as.formula(paste0("~", item))
  m <- svymean(f, des, na.rm = TRUE)
  p <- svyciprop(as.formula(paste0("~I(", item, " == 1)")), des, method = "logit", na.rm = TRUE)
  ci <- confint(p)
  cases[[length(cases) + 1]] <- list(
    variable = item, domain = "national", level = NA, stat = "proportion",
    estimate = unname(coef(m)), se = as.numeric(SE(m)),
    ci_low = unname(ci[1]), ci_high = unname(ci[2]), df = degf(des),
    r_call = paste0("svymean(", deparse(f), ", des, na.rm = TRUE); svyciprop(~I(", item,
                    " == 1), des, method = \"logit\", na.rm = TRUE)"))
  b <- svyby(as.formula(paste0("~I(", item, " == 1)")), ~Q101, des, svyciprop,
             vartype = c("se", "ci"), method = "logit", na.rm = TRUE)
  bm <- svyby(f, ~Q101, des, svymean, na.rm = TRUE)
  for (i in seq_len(nrow(b))) {
    cases[[length(cases) + 1]] <- list(
      variable = item, domain = "Q101", level = b$Q101[i], stat = "proportion",
      estimate = unname(bm[i, 2]), se = unname(bm[i, 3]),
      ci_low = unname(b[i, "ci_l"]), ci_high = unname(b[i, "ci_u"]),
      df = degf(subset(des, Q101 == b$Q101[i])),
      r_call = paste0("svyby(", deparse(f), ", ~Q101, des, svymean, na.rm = TRUE); svyby(~I(",
                      item, " == 1), ~Q101, des, svyciprop, vartype = c(\"se\", \"ci\"), ",
                      "method = \"logit\", na.rm = TRUE)"))
  }
}
m <- svymean(~age, des, na.rm = TRUE)
ci <- confint(m, df = degf(des))
cases[[length(cases) + 1]] <- list(
  variable = "age", domain = "national", level = NA, stat = "mean",
  estimate = unname(coef(m)), se = as.numeric(SE(m)),
  ci_low = unname(ci[1]), ci_high = unname(ci[2]), df = degf(des),
  r_call = "m <- svymean(~age, des, na.rm = TRUE); confint(m, df = degf(des))")

out <- list(
  meta = list(
    r_version = R.version.string,
    survey_version = as.character(packageVersion("survey")),
    jsonlite_version = as.character(packageVersion("jsonlite")),
    data = "afrobarometer_tun_r8.csv (Afrobarometer Data, Tunisia, Round 8, afrobarometer.org)",
    design = design_call,
    strata = "stratum <- interaction(REGION, URBRUR, drop = TRUE)",
    n = nrow(ab), n_strata = length(unique(ab$stratum)), degf = degf(des)),
  cases = cases)
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, pretty = TRUE, na = "null"),
           "afrobarometer_tun_r8.json")
