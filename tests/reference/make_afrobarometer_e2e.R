# Golden numbers for the Afrobarometer end-to-end test (tests/test_afrobarometer_e2e.py).
# Run: cd tests/reference && Rscript make_afrobarometer_e2e.R
# Reads afrobarometer_tun_e2e.csv (make_afrobarometer_e2e_extract.py) and writes
# afrobarometer_tun_e2e.json. Design weights only, no PSU ids: each respondent is its own PSU
# within the REGION x URBRUR strata.
suppressPackageStartupMessages({library(survey); library(jsonlite)})
ab <- read.csv("afrobarometer_tun_e2e.csv")
items <- c("trust_police", "trust_courts_law", "trust_president", "trust_religious_leaders",
           "trust_national_electoral_commission")
age_band <- function(a) {
  a[a < 0 | a >= 998] <- NA
  cut(a, c(17, 24, 34, 44, 54, Inf), labels = FALSE)
}
cases <- list()
for (w in c("w1", "w2")) {
  d <- ab[ab$wave == w, ]
  d$stratum <- interaction(d$REGION, d$URBRUR, drop = TRUE)
  d$age_band <- age_band(d$Q1)
  for (item in items) {
    x <- d[[item]]
    # "all": don't know (9) stays in the base as not trusting; refused (8) and missing (-1) out.
    d$y_all <- ifelse(x %in% c(2, 3), 1, ifelse(x %in% c(0, 1, 9), 0, NA))
    d$y_excl_dk <- ifelse(x %in% c(2, 3), 1, ifelse(x %in% c(0, 1), 0, NA))
    des <- svydesign(ids = ~1, strata = ~stratum, weights = ~withinwt_hh, data = d)
    for (variant in c("all", "excl_dk")) {
      f <- as.formula(paste0("~y_", variant))
      doms <- list(national = NULL, gender = "Q101", age_band = "age_band", region = "REGION")
      for (set in names(doms)) {
        col <- doms[[set]]
        codes <- if (is.null(col)) NA else sort(unique(na.omit(d[[col]])))
        for (code in codes) {
          sub <- if (is.null(col)) des else subset(des, !is.na(des$variables[[col]]) &
                                                       des$variables[[col]] == code)
          m <- svymean(f, sub, na.rm = TRUE)
          ci <- confint(svyciprop(f, sub, method = "logit", na.rm = TRUE), df = degf(sub))
          cases[[length(cases) + 1]] <- list(
            wave = w, indicator = item, variant = variant, domain_set = set,
            code = if (is.null(col)) NULL else code,
            estimate = unname(coef(m)), se = unname(SE(m)[1]), df = degf(sub),
            ci_low = unname(ci[1]), ci_high = unname(ci[2]),
            call = paste0("svymean(~y_", variant, ", ", if (is.null(col)) "des" else
                          paste0("subset(des, ", col, " == ", code, ")"), ", na.rm = TRUE)"))
        }
      }
    }
  }
}
out <- list(
  meta = list(r = R.version.string, survey = as.character(packageVersion("survey")),
              design = "svydesign(ids = ~1, strata = ~interaction(REGION, URBRUR), weights = ~withinwt_hh)",
              tolerance = 1e-6),
  cases = cases)
write_json(out, "afrobarometer_tun_e2e.json", auto_unbox = TRUE, digits = NA, pretty = TRUE)
cat(length(cases), "cases\n")
