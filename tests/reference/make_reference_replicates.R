## make_reference_replicates.R -- golden numbers for replicate-weight designs (issue 11)
##
## Regenerate with:  cd tests/reference && Rscript make_reference_replicates.R
## Writes: rep_<name>.csv (data + the replicate weights R built, full weights rw1..rwR)
##         rep_random.csv (random two-PSU-per-stratum designs)  expected_replicates.json
##
## Route: as.svrepdesign(<design>, type = ...) builds replicate weights; they are written to
## CSV with 15 significant digits; svrepdesign() re-reads that CSV (combined.weights = TRUE,
## scale/rscales from the as.svrepdesign object) and every number comes from that design,
## so R and Python use identical replicate weights.  df = degf(design) for the whole
## design and degf(subset(design, domain)) per domain: rank of the replicate weights - 1.
suppressPackageStartupMessages({ library(survey); library(jsonlite) })
data(api)
LEVEL <- 0.95
keep <- c("snum", "dnum", "stype", "sch.wide", "yr.rnd", "api00", "api99", "enroll", "pw", "fpc")

dstrat <- svydesign(id = ~1, strata = ~stype, weights = ~pw, fpc = ~fpc, data = apistrat)
dclus1 <- svydesign(id = ~dnum, weights = ~pw, fpc = ~fpc, data = apiclus1)
## Pairs design for BRR/Fay: consecutive schools of a school type form a stratum of two PSUs.
apistrat_pairs <- apistrat
apistrat_pairs$pair <- paste(apistrat$stype, (ave(seq_len(nrow(apistrat)), apistrat$stype, FUN = seq_along) + 1) %/% 2)
dpairs <- svydesign(id = ~1, strata = ~pair, weights = ~pw, data = apistrat_pairs)

set.seed(20261204)
builders <- list(
  clus1_jk1  = list(code = "as.svrepdesign(dclus1, type = \"JK1\")", data = apiclus1),
  strat_jkn  = list(code = "as.svrepdesign(dstrat, type = \"JKn\")", data = apistrat),
  pairs_brr  = list(code = "as.svrepdesign(dpairs, type = \"BRR\")", data = apistrat_pairs),
  pairs_fay  = list(code = "as.svrepdesign(dpairs, type = \"Fay\", fay.rho = 0.5)", data = apistrat_pairs),
  strat_boot = list(code = "as.svrepdesign(dstrat, type = \"bootstrap\", replicates = 50)", data = apistrat),
  clus1_boot = list(code = "as.svrepdesign(dclus1, type = \"bootstrap\", replicates = 40)", data = apiclus1)
)
rtype <- c(clus1_jk1 = "JK1", strat_jkn = "JKn", pairs_brr = "BRR", pairs_fay = "Fay",
           strat_boot = "bootstrap", clus1_boot = "bootstrap")

num <- function(x) if (is.null(x) || length(x) == 0) NA_real_ else unname(as.numeric(x))
cases <- list(); designs <- list()
add <- function(x) cases[[length(cases) + 1]] <<- x

stat_rows <- function(m, d, vars) {
  ci <- confint(m, level = LEVEL, df = degf(d))
  lapply(seq_along(vars), function(i) {
    v <- d$variables[[vars[i]]]
    list(variable = vars[i], estimate = num(coef(m)[i]), se = num(SE(m)[i]),
         ci_low = num(ci[i, 1]), ci_high = num(ci[i, 2]), df = degf(d),
         deff = num(deff(m)[i]), n = sum(!is.na(v)), n_weighted = sum(weights(d, "sampling")[!is.na(v)]))
  })
}
by_rows <- function(d, fun, var, by) {
  lapply(sort(unique(as.character(d$variables[[by]]))), function(lv) {
    dk <- d[as.character(d$variables[[by]]) == lv, ]
    m <- fun(as.formula(paste0("~", var)), dk, deff = TRUE)
    ci <- confint(m, level = LEVEL, df = degf(dk))
    r <- list(variable = var, estimate = num(coef(m)), se = num(SE(m)), ci_low = num(ci[1, 1]),
              ci_high = num(ci[1, 2]), df = degf(dk), deff = num(deff(m)),
              n = nrow(dk$variables), n_weighted = sum(weights(dk, "sampling")))
    r[[by]] <- lv
    r
  })
}
prop_rows <- function(d, method, by = NULL) {
  doms <- if (is.null(by)) list(NULL) else as.list(sort(unique(as.character(d$variables[[by]]))))
  lapply(doms, function(lv) {
    dk <- if (is.null(lv)) d else d[as.character(d$variables[[by]]) == lv, ]
    p <- svyciprop(~I(sch.wide == "Yes"), dk, method = method, level = LEVEL)
    m <- svymean(~as.numeric(sch.wide == "Yes"), dk, deff = TRUE)
    ci <- confint(p)
    r <- list(variable = "sch.wide", estimate = num(p), se = num(SE(p)), ci_low = num(ci[1, 1]),
              ci_high = num(ci[1, 2]), df = degf(dk), deff = num(deff(m)),
              n = nrow(dk$variables), n_weighted = sum(weights(dk, "sampling")))
    if (!is.null(lv)) r[[by]] <- lv
    r
  })
}

for (name in names(builders)) {
  b <- builders[[name]]
  rep <- eval(parse(text = b$code))
  w <- weights(rep, "analysis")
  colnames(w) <- paste0("rw", seq_len(ncol(w)))
  cols <- intersect(c(keep, "pair"), names(b$data))
  out <- cbind(b$data[, cols], w)
  file <- paste0("rep_", name, ".csv")
  write.csv(out, file, row.names = FALSE)
  back <- read.csv(file)
  for (mse in c(FALSE, TRUE)) {
    args <- if (rtype[[name]] %in% c("BRR")) "" else
      if (rtype[[name]] == "Fay") ", rho = 0.5" else
      sprintf(", scale = %.17g, rscales = rs", rep$scale)
    dcode <- sprintf(paste0("svrepdesign(data = back, repweights = \"^rw[0-9]+$\", weights = ~pw, ",
                            "type = \"%s\", combined.weights = TRUE%s, mse = %s)"),
                     rtype[[name]], args, mse)
    rs <- rep$rscales
    d <- eval(parse(text = dcode))
    did <- paste0(name, if (mse) "_mse" else "")
    designs[[did]] <- list(file = file, build = b$code, svrepdesign = dcode,
                           rep_type = rtype[[name]], scale = d$scale, rscales = d$rscales,
                           fay_rho = if (rtype[[name]] == "Fay") 0.5 else NULL, mse = mse,
                           degf = degf(d), n_replicates = ncol(w))
    add(list(id = paste0(did, "_mean_api00_api99"), design = did, operation = "mean",
             variables = c("api00", "api99"), by = NULL, ci_method = "t",
             r_call = "m <- svymean(~api00 + api99, d, deff = TRUE); confint(m, df = degf(d))",
             expected = stat_rows(svymean(~api00 + api99, d, deff = TRUE), d, c("api00", "api99"))))
    add(list(id = paste0(did, "_total_enroll"), design = did, operation = "total",
             variables = "enroll", by = NULL, ci_method = "t",
             r_call = "m <- svytotal(~enroll, d, deff = TRUE); confint(m, df = degf(d))",
             expected = stat_rows(svytotal(~enroll, d, deff = TRUE), d, "enroll")))
    add(list(id = paste0(did, "_mean_api00_by_stype"), design = did, operation = "mean",
             variables = "api00", by = "stype", ci_method = "t",
             r_call = "for each stype level lv: dk <- d[d$variables$stype == lv, ]; m <- svymean(~api00, dk, deff = TRUE); confint(m, df = degf(dk))",
             expected = by_rows(d, svymean, "api00", "stype")))
    add(list(id = paste0(did, "_total_enroll_by_stype"), design = did, operation = "total",
             variables = "enroll", by = "stype", ci_method = "t",
             r_call = "for each stype level lv: dk <- d[d$variables$stype == lv, ]; m <- svytotal(~enroll, dk, deff = TRUE); confint(m, df = degf(dk))",
             expected = by_rows(d, svytotal, "enroll", "stype")))
    for (meth in c("logit", "beta", "mean")) {
      for (by in list(NULL, "stype")) {
        add(list(id = paste0(did, "_prop_schwide_", meth, if (!is.null(by)) "_by_stype"),
                 design = did, operation = "proportion", variables = "sch.wide",
                 indicator_of = list(column = "sch.wide", equals = "Yes"), by = by,
                 ci_method = c(logit = "logit", beta = "beta", mean = "wald")[[meth]],
                 r_call = sprintf("dk <- d (or d[d$variables$stype == lv, ]); p <- svyciprop(~I(sch.wide == \"Yes\"), dk, method = \"%s\"); confint(p); deff from svymean(~as.numeric(sch.wide == \"Yes\"), dk, deff = TRUE)", meth),
                 expected = prop_rows(d, meth, by)))
      }
    }
  }
}

## Raking on a replicate design: the calibration is repeated on every replicate.
local({
  back <- read.csv("rep_clus1_jk1.csv")
  rs <- 1
  d <- svrepdesign(data = back, repweights = "^rw[0-9]+$", weights = ~pw, type = "JK1",
                   combined.weights = TRUE, scale = designs$clus1_jk1$scale, rscales = rs, mse = FALSE)
  code <- paste0("dcal <- calibrate(d, ~stype + sch.wide, population = c(`(Intercept)` = 6194, ",
                 "stypeH = 755, stypeM = 1018, sch.wideYes = 5122), calfun = \"raking\", epsilon = 1e-12, maxit = 200, compress = FALSE)")
  eval(parse(text = code))
  add(list(id = "clus1_jk1_rake_mean_api00", design = "clus1_jk1", operation = "rake_then_mean",
           variables = "api00", by = NULL, ci_method = "t",
           margins = list(stype = list(E = 4421, H = 755, M = 1018), sch.wide = list(No = 1072, Yes = 5122)),
           r_call = paste0(code, "; m <- svymean(~api00, dcal, deff = TRUE); confint(m, df = degf(dcal))"),
           expected = stat_rows(svymean(~api00, dcal, deff = TRUE), dcal, "api00")))
  pscode <- "dps <- postStratify(d, ~stype, data.frame(stype = c(\"E\", \"H\", \"M\"), Freq = c(4421, 755, 1018)), compress = FALSE)"
  eval(parse(text = pscode))
  add(list(id = "clus1_jk1_poststrat_total_enroll", design = "clus1_jk1", operation = "poststratify_then_total",
           variables = "enroll", by = NULL, ci_method = "t", poststrat_vars = "stype",
           targets = list(E = 4421, H = 755, M = 1018),
           r_call = paste0(pscode, "; m <- svytotal(~enroll, dps, deff = TRUE); confint(m, df = degf(dps))"),
           expected = stat_rows(svytotal(~enroll, dps, deff = TRUE), dps, "enroll")))
})

## Random two-PSU-per-stratum designs: as.svrepdesign JK1 (strata ignored), JKn and BRR.
set.seed(11)
random <- list(); rand_cases <- list()
for (k in 1:6) {
  H <- c(3, 7, 5, 15, 4, 9)[k]
  sizes <- sample(1:6, 2 * H, replace = TRUE)
  psu <- rep(seq_len(2 * H), sizes)
  df <- data.frame(design = k, stratum = (psu + 1) %/% 2, psu = psu,
                   w = round(runif(length(psu), 1, 20), 3), y = round(rnorm(length(psu), 50, 10), 3),
                   z = rbinom(length(psu), 1, 0.4))
  random[[k]] <- df
  d0 <- svydesign(id = ~psu, strata = ~stratum, weights = ~w, data = df)
  d1 <- svydesign(id = ~psu, weights = ~w, data = df)
  for (type in c("JK1", "JKn", "BRR")) {
    code <- sprintf("as.svrepdesign(%s, type = \"%s\")", if (type == "JK1") "d1" else "d0", type)
    r <- eval(parse(text = code))
    m <- svymean(~y + z, r); t <- svytotal(~y, r)
    rand_cases[[length(rand_cases) + 1]] <- list(
      design = k, type = type, r_call = paste0(code, "; svymean(~y + z, r); svytotal(~y, r)"),
      n_replicates = ncol(weights(r, "analysis")), degf = degf(r), scale = r$scale,
      mean = num(coef(m)), mean_se = num(SE(m)), total = num(coef(t)), total_se = num(SE(t)))
  }
}
write.csv(do.call(rbind, random), "rep_random.csv", row.names = FALSE)

meta <- list(generator = "make_reference_replicates.R", r_version = R.version.string,
             survey_version = as.character(packageVersion("survey")),
             generated = format(Sys.time(), "%Y-%m-%d %H:%M:%S %Z"),
             tolerance = list(rtol = 1e-6, atol_for_values_near_zero = 1e-9),
             design_objects = list(
               dstrat = "svydesign(id = ~1, strata = ~stype, weights = ~pw, fpc = ~fpc, data = apistrat)",
               dclus1 = "svydesign(id = ~dnum, weights = ~pw, fpc = ~fpc, data = apiclus1)",
               dpairs = "svydesign(id = ~1, strata = ~pair, weights = ~pw, data = apistrat_pairs)",
               random_d0 = "svydesign(id = ~psu, strata = ~stratum, weights = ~w, data = rep_random[design == k])",
               random_d1 = "svydesign(id = ~psu, weights = ~w, data = rep_random[design == k])"),
             seeds = list(replicates = 20261204, random_designs = 11))
writeLines(toJSON(list(meta = meta, designs = designs, cases = cases, random = rand_cases),
                  auto_unbox = TRUE, digits = I(15), null = "null", na = "null", pretty = TRUE),
           "expected_replicates.json")
cat("cases:", length(cases), " random:", length(rand_cases), "\n")
