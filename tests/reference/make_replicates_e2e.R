## make_replicates_e2e.R -- golden numbers for `perception run` on surveys delivered with
## replicate weights (issue 11, tests/test_replicates_e2e.py)
##
## Regenerate with:  cd tests/reference && Rscript make_replicates_e2e.R
## Reads:  rep_strat_jkn.csv, rep_clus1_boot.csv (data + replicate weights rw1..rwR, written by
##         make_reference_replicates.R from as.svrepdesign) and the scale/rscales of their
##         designs in expected_replicates.json: the partner's "delivery" and its documentation.
## Writes: replicates_e2e.json
##
## Route: svrepdesign() on the delivered columns (combined.weights = TRUE, scale and rscales
## as documented); three binary indicators; national and by school type (stype). Per cell:
## svymean(~y, dk, deff = TRUE) gives estimate, SE and deff; the interval is
## confint(svymean, df = degf(dk)) (Wald, t on degf) or svyciprop(method = "beta")
## (Korn-Graubard); df = degf(dk) with dk the design or subset(design, stype == lv).
suppressPackageStartupMessages({ library(survey); library(jsonlite) })
LEVEL <- 0.95
documented <- fromJSON("expected_replicates.json", simplifyVector = TRUE)$designs
deliveries <- list(
  strat_jkn = list(file = "rep_strat_jkn.csv", type = "JKn", doc = documented$strat_jkn),
  clus1_boot = list(file = "rep_clus1_boot.csv", type = "bootstrap", doc = documented$clus1_boot)
)
indicators <- list(
  sch_wide = list(expr = "sch.wide == \"Yes\"", ci = "beta"),
  yr_rnd = list(expr = "yr.rnd == \"Yes\"", ci = "wald"),
  api_high = list(expr = "api00 >= 700", ci = "beta")
)
num <- function(x) unname(as.numeric(x))
cases <- list(); calls <- list()
for (name in names(deliveries)) {
  dl <- deliveries[[name]]
  back <- read.csv(dl$file)
  for (id in names(indicators)) back[[id]] <- as.numeric(eval(parse(text = indicators[[id]]$expr), back))
  rs <- dl$doc$rscales
  code <- sprintf(paste0("svrepdesign(data = back, repweights = \"^rw[0-9]+$\", weights = ~pw, ",
                         "type = \"%s\", combined.weights = TRUE, scale = %.17g, rscales = rs, mse = FALSE)"),
                  dl$type, dl$doc$scale)
  d <- eval(parse(text = code))
  calls[[name]] <- list(file = dl$file, svrepdesign = code, scale = d$scale, rscales = d$rscales,
                        degf = degf(d), n_replicates = ncol(d$repweights))
  for (id in names(indicators)) {
    ci_method <- indicators[[id]]$ci
    for (lv in c(NA, sort(unique(back$stype)))) {
      dk <- if (is.na(lv)) d else subset(d, stype == lv)
      f <- as.formula(paste0("~", id))
      m <- svymean(f, dk, deff = TRUE)
      ci <- if (ci_method == "wald") confint(m, df = degf(dk), level = LEVEL) else
        confint(svyciprop(f, dk, method = "beta", level = LEVEL))
      cases[[length(cases) + 1]] <- list(
        delivery = name, indicator = id, domain_set = if (is.na(lv)) "national" else "stype",
        stype = if (is.na(lv)) NULL else lv, ci_method = ci_method,
        call = sprintf("dk <- %s; svymean(~%s, dk, deff = TRUE); %s; degf(dk)",
                       if (is.na(lv)) "d" else sprintf("subset(d, stype == \"%s\")", lv), id,
                       if (ci_method == "wald") "confint(m, df = degf(dk))" else
                         sprintf("confint(svyciprop(~%s, dk, method = \"beta\"))", id)),
        estimate = num(coef(m)), se = num(SE(m)), ci_low = num(ci[1, 1]), ci_high = num(ci[1, 2]),
        df = degf(dk), deff = num(deff(m)), n = nrow(dk$variables),
        n_weighted = sum(weights(dk, "sampling")))
    }
  }
}
meta <- list(generator = "make_replicates_e2e.R", r_version = R.version.string,
             survey_version = as.character(packageVersion("survey")),
             jsonlite_version = as.character(packageVersion("jsonlite")),
             generated = format(Sys.time(), "%Y-%m-%d %H:%M:%S %Z"),
             tolerance = list(rtol = 1e-6), level = LEVEL,
             indicators = lapply(indicators, function(i) i$expr))
writeLines(toJSON(list(meta = meta, designs = calls, cases = cases), auto_unbox = TRUE,
                  digits = I(15), null = "null", na = "null", pretty = TRUE),
           "replicates_e2e.json")
cat("cases:", length(cases), "\n")
