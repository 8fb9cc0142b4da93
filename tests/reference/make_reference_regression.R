## make_reference_regression.R -- golden numbers for perception.regress from R's `survey`
##
## Regenerate with:   cd tests/reference && Rscript make_reference_regression.R
## Writes: expected_regression.json, random_regression.csv
##
## Every case carries `r_call`: the exact R statements evaluated (in an environment holding
## the design objects listed in meta.design_objects) to get its numbers.
##  - coefficients: coef(m), SE = sqrt(diag(vcov(m))), t and p from summary(m) (Student t on
##    m$df.residual = degf(design) + 1 - p), CI = confint(m) (Wald, ddf = m$df.residual).
##  - Wald tests: regTermTest(m, ~terms) (F on m$df.residual), and with df = Inf (chi-square).
##  - Average marginal effects (logistic models): there is no AME function in survey 4.1, so
##    ame_linearized() below computes them: the weighted mean over the fitted rows of the
##    discrete change in fitted probability (factor levels) or of dmu/dx (numeric predictors),
##    with the SE from survey:::svyrecvar() applied to its linearization
##    w_i (g_i - theta) / N + infl_i %*% dtheta/dbeta, where infl = estfun %*% naive.cov is the
##    coefficients' influence (what svyglm(influence = TRUE) would return, were it not broken
##    in 4.1.1). This is R's variance engine on an influence written here, so the AME SEs are
##    also checked in Python against a numeric derivative of the whole estimator.

suppressPackageStartupMessages({
  library(survey)
  library(jsonlite)
})
options(survey.lonely.psu = "fail")

data(api)
data(nhanes)
apistrat$yes <- as.numeric(apistrat$sch.wide == "Yes")
apiclus1$yes <- as.numeric(apiclus1$sch.wide == "Yes")

## Random designs: three stratified cluster samples with unequal weights.
set.seed(20261204)
make_sim <- function(sim) {
  n_strata <- 5
  rows <- list()
  for (h in seq_len(n_strata)) {
    n_psu <- sample(2:6, 1)
    for (j in seq_len(n_psu)) {
      m <- sample(3:15, 1)
      rows[[length(rows) + 1]] <- data.frame(sim = sim, stratum = h, psu = paste0(h, "-", j),
                                             m = m, psu_effect = rnorm(1, sd = 0.5))
    }
  }
  psus <- do.call(rbind, rows)
  d <- psus[rep(seq_len(nrow(psus)), psus$m), c("sim", "stratum", "psu", "psu_effect")]
  n <- nrow(d)
  d$x1 <- round(rnorm(n), 6)
  d$g <- sample(c("a", "b", "c"), n, replace = TRUE, prob = c(0.5, 0.3, 0.2))
  eta <- 0.3 + 0.8 * d$x1 + ifelse(d$g == "b", 0.5, ifelse(d$g == "c", -0.7, 0)) + d$psu_effect
  d$y <- round(2 + 1.5 * eta + rnorm(n), 6)
  d$yb <- rbinom(n, 1, plogis(eta))
  d$yc <- rpois(n, exp(0.5 + 0.4 * eta))
  d$w <- round(runif(n, 1, 50), 4)
  d$psu_effect <- NULL
  d
}
random_regression <- do.call(rbind, lapply(1:3, make_sim))
write.csv(random_regression, "random_regression.csv", row.names = FALSE)

dstrat  <- svydesign(id = ~1, strata = ~stype, weights = ~pw, fpc = ~fpc, data = apistrat)
dclus1  <- svydesign(id = ~dnum, weights = ~pw, fpc = ~fpc, data = apiclus1)
dnhanes <- svydesign(id = ~SDMVPSU, strata = ~SDMVSTRA, weights = ~WTMEC2YR, nest = TRUE,
                     data = nhanes)
pop_cal <- c(`(Intercept)` = 6194, stypeH = 755, stypeM = 1018, sch.wideYes = 5122)
dclus1_cal <- calibrate(dclus1, ~stype + sch.wide, population = pop_cal, calfun = "raking")
pop.types <- data.frame(stype = c("E", "H", "M"), Freq = c(4421, 755, 1018))
dclus1_ps <- postStratify(dclus1, ~stype, pop.types)
for (s in 1:3) {
  assign(paste0("dsim", s),
         svydesign(id = ~psu, strata = ~stratum, weights = ~w,
                   data = random_regression[random_regression$sim == s, ]))
}

design_objects <- list(
  dstrat = "svydesign(id = ~1, strata = ~stype, weights = ~pw, fpc = ~fpc, data = apistrat)",
  dclus1 = "svydesign(id = ~dnum, weights = ~pw, fpc = ~fpc, data = apiclus1)",
  dnhanes = "svydesign(id = ~SDMVPSU, strata = ~SDMVSTRA, weights = ~WTMEC2YR, nest = TRUE, data = nhanes)",
  dclus1_cal = "calibrate(dclus1, ~stype + sch.wide, population = c(`(Intercept)` = 6194, stypeH = 755, stypeM = 1018, sch.wideYes = 5122), calfun = \"raking\")",
  dclus1_ps = "postStratify(dclus1, ~stype, data.frame(stype = c(\"E\", \"H\", \"M\"), Freq = c(4421, 755, 1018)))",
  dsimS = "svydesign(id = ~psu, strata = ~stratum, weights = ~w, data = random_regression[random_regression$sim == S, ]) for S in 1:3"
)

spec <- function(weights, strata = NULL, psu = NULL, fpc = NULL, nest = FALSE)
  list(weights = weights, strata = strata, psu = psu, fpc = fpc, nest = nest, lonely_psu = "fail")
specs <- list(
  dstrat = spec("pw", strata = "stype", fpc = "fpc"),
  dclus1 = spec("pw", psu = "dnum", fpc = "fpc"),
  dclus1_cal = spec("pw", psu = "dnum", fpc = "fpc"),
  dclus1_ps = spec("pw", psu = "dnum", fpc = "fpc"),
  dnhanes = spec("WTMEC2YR", strata = "SDMVSTRA", psu = "SDMVPSU", nest = TRUE),
  dsim1 = spec("w", strata = "stratum", psu = "psu"),
  dsim2 = spec("w", strata = "stratum", psu = "psu"),
  dsim3 = spec("w", strata = "stratum", psu = "psu")
)
datasets <- c(dstrat = "apistrat", dclus1 = "apiclus1", dclus1_cal = "apiclus1",
              dclus1_ps = "apiclus1", dnhanes = "nhanes", dsim1 = "random_regression",
              dsim2 = "random_regression", dsim3 = "random_regression")
calibrations <- list(
  dclus1_cal = list(method = "raking",
                    margins = list(stype = list(E = 4421, H = 755, M = 1018),
                                   sch.wide = list(No = 1072, Yes = 5122))),
  dclus1_ps = list(method = "poststratify", variables = I("stype"),
                   targets = list(E = 4421, H = 755, M = 1018))
)

run_call <- function(code) {
  env <- new.env()
  for (name in c(names(specs), "random_regression")) assign(name, get(name), envir = env)
  eval(parse(text = code), envir = env)
  env
}

## AME by linearization (see the header).
ame_linearized <- function(m, design, var, level = NULL, ref = NULL) {
  tt <- delete.response(terms(m))
  dat <- model.frame(design)
  used <- rep(TRUE, nrow(dat))
  if (length(m$na.action)) used[m$na.action] <- FALSE
  b <- coef(m)
  w <- weights(design, "sampling")
  mm <- function(d) model.matrix(tt, model.frame(tt, d, xlev = m$xlevels))
  X <- mm(dat[used, , drop = FALSE])
  if (is.null(level)) {
    d1 <- dat[used, , drop = FALSE]
    eta <- drop(X %*% b)
    mu <- plogis(eta)
    dmu <- mu * (1 - mu)
    g <- dmu * b[[var]]
    dg <- (dmu * (1 - 2 * mu) * b[[var]]) * X
    dg[, var] <- dg[, var] + dmu
  } else {
    d1 <- d0 <- dat[used, , drop = FALSE]
    d1[[var]] <- level
    d0[[var]] <- ref
    X1 <- mm(d1)
    X0 <- mm(d0)
    mu1 <- plogis(drop(X1 %*% b))
    mu0 <- plogis(drop(X0 %*% b))
    g <- mu1 - mu0
    dg <- mu1 * (1 - mu1) * X1 - mu0 * (1 - mu0) * X0
  }
  wu <- w[used]
  N <- sum(wu)
  theta <- sum(wu * g) / N
  G <- colSums(wu * dg) / N
  estfun <- model.matrix(m) * resid(m, "working") * m$weights
  infl <- estfun %*% m$naive.cov
  z <- rep(0, nrow(dat))
  z[used] <- wu * (g - theta) / N + drop(infl %*% G)
  v <- survey:::svyrecvar(matrix(z, ncol = 1), design$cluster, design$strata, design$fpc,
                          postStrata = design$postStrata)
  list(estimate = theta, se = sqrt(drop(v)))
}

cases <- list()
add_case <- function(id, dname, family, formula_r, formula_py, wald = list(), ame = list(),
                     subset = NULL, domain = NULL, note = NULL) {
  design_expr <- if (is.null(subset)) dname else sprintf("subset(%s, %s)", dname, subset)
  code <- sprintf("m <- svyglm(%s, design = %s, family = %s, control = glm.control(epsilon = 1e-15, maxit = 100)); s <- summary(m); ci <- confint(m)",
                  formula_r, design_expr, family)
  wald_calls <- character(0)
  for (k in seq_along(wald)) {
    wald_calls <- c(wald_calls, sprintf("wt%d <- regTermTest(m, %s%s)", k, wald[[k]]$terms_r,
                                        if (isTRUE(wald[[k]]$chisq)) ", df = Inf" else ""))
  }
  if (length(wald_calls)) code <- paste(c(code, wald_calls), collapse = "; ")
  env <- run_call(code)
  m <- env$m
  co <- env$s$coefficients
  coefficients <- lapply(seq_len(nrow(co)), function(i) list(
    name = rownames(co)[i], estimate = co[i, 1], se = co[i, 2], t = co[i, 3], p = co[i, 4],
    ci_low = env$ci[i, 1], ci_high = env$ci[i, 2]))
  wald_out <- lapply(seq_along(wald), function(k) {
    wt <- env[[paste0("wt", k)]]
    c(wald[[k]][c("terms_py")], list(
      r_call = wald_calls[k], chisq_test = isTRUE(wald[[k]]$chisq),
      statistic = if (isTRUE(wald[[k]]$chisq)) drop(wt$chisq) else drop(wt$Ftest),
      df = wt$df, ddf = if (isTRUE(wald[[k]]$chisq)) NULL else wt$ddf, p = drop(wt$p)))
  })
  ame_out <- lapply(ame, function(a) {
    r <- ame_linearized(m, m$survey.design, a$var, a$level, a$ref)
    list(variable = a$var, level = a$level, reference = a$ref, estimate = r$estimate, se = r$se)
  })
  design <- m$survey.design
  cases[[length(cases) + 1]] <<- c(
    list(id = id, dataset = datasets[[dname]], design = specs[[dname]]),
    if (!is.null(calibrations[[dname]])) list(calibration = calibrations[[dname]]),
    if (grepl("^dsim", dname)) list(sim = as.integer(sub("dsim", "", dname))),
    list(family = sub("\\(.*", "", sub("^quasi", "", family)), formula_r = formula_r,
         formula = formula_py, domain = domain, r_call = code,
         df_residual = m$df.residual, design_degf = degf(design),
         n = sum(m$prior.weights > 0),
         coefficients = coefficients, wald = wald_out, ame = ame_out),
    if (!is.null(note)) list(note = note))
}

## apistrat (stratified, fpc)
add_case("apistrat_gaussian", "dstrat", "gaussian()", "api00 ~ ell + meals + stype",
         "api00 ~ ell + meals + stype",
         wald = list(list(terms_r = "~stype", terms_py = I("stype")),
                     list(terms_r = "~ell + meals", terms_py = c("ell", "meals")),
                     list(terms_r = "~stype", terms_py = I("stype"), chisq = TRUE)))
add_case("apistrat_binomial", "dstrat", "quasibinomial()", "yes ~ ell + meals + stype",
         "yes ~ ell + meals + stype",
         wald = list(list(terms_r = "~stype", terms_py = I("stype")),
                     list(terms_r = "~stype", terms_py = I("stype"), chisq = TRUE)),
         ame = list(list(var = "ell"), list(var = "meals"),
                    list(var = "stype", level = "H", ref = "E"),
                    list(var = "stype", level = "M", ref = "E")))
add_case("apistrat_poisson", "dstrat", "quasipoisson()", "emer ~ ell + stype",
         "emer ~ ell + stype", wald = list(list(terms_r = "~stype", terms_py = I("stype"))))
add_case("apistrat_binomial_domain", "dstrat", "quasibinomial()", "yes ~ ell + meals",
         "yes ~ ell + meals", subset = "stype == \"E\"", domain = list(stype = "E"))

## apiclus1 (one-stage cluster, fpc)
add_case("apiclus1_gaussian", "dclus1", "gaussian()", "api00 ~ ell + meals + mobility + stype",
         "api00 ~ ell + meals + mobility + stype",
         wald = list(list(terms_r = "~stype", terms_py = I("stype"))))
add_case("apiclus1_binomial", "dclus1", "quasibinomial()", "yes ~ ell + stype",
         "yes ~ ell + stype", ame = list(list(var = "ell"), list(var = "stype", level = "M", ref = "E")))
add_case("apiclus1_poisson", "dclus1", "quasipoisson()", "emer ~ ell + meals",
         "emer ~ ell + meals")

## Calibrated designs
add_case("apiclus1_cal_gaussian", "dclus1_cal", "gaussian()", "api00 ~ ell + meals + stype",
         "api00 ~ ell + meals + stype",
         wald = list(list(terms_r = "~stype", terms_py = I("stype"))))
add_case("apiclus1_cal_binomial", "dclus1_cal", "quasibinomial()", "yes ~ ell + stype",
         "yes ~ ell + stype", ame = list(list(var = "ell"), list(var = "stype", level = "H", ref = "E")))
add_case("apiclus1_cal_poisson", "dclus1_cal", "quasipoisson()", "emer ~ ell + stype",
         "emer ~ ell + stype")
add_case("apiclus1_ps_gaussian", "dclus1_ps", "gaussian()", "api00 ~ ell + meals",
         "api00 ~ ell + meals")

## NHANES (strata x PSU, nest = TRUE, missing HI_CHOL rows)
add_case("nhanes_binomial", "dnhanes", "quasibinomial()",
         "HI_CHOL ~ factor(race) + agecat + factor(RIAGENDR)",
         "HI_CHOL ~ C(race) + agecat + C(RIAGENDR)",
         wald = list(list(terms_r = "~factor(race)", terms_py = I("C(race)")),
                     list(terms_r = "~agecat", terms_py = I("agecat"), chisq = TRUE)),
         note = "HI_CHOL is missing in some rows: svyglm drops them (na.omit) and df counts only PSUs and strata holding a fitted row")
add_case("nhanes_gaussian_domain", "dnhanes", "gaussian()", "HI_CHOL ~ factor(race) + agecat",
         "HI_CHOL ~ C(race) + agecat", subset = "RIAGENDR == 2", domain = list(RIAGENDR = 2))

## Random designs
for (s in 1:3) {
  dn <- paste0("dsim", s)
  add_case(paste0("random", s, "_gaussian"), dn, "gaussian()", "y ~ x1 + g", "y ~ x1 + g",
           wald = list(list(terms_r = "~g", terms_py = I("g"))))
  add_case(paste0("random", s, "_binomial"), dn, "quasibinomial()", "yb ~ x1 + g", "yb ~ x1 + g",
           wald = list(list(terms_r = "~x1 + g", terms_py = c("x1", "g"))),
           ame = list(list(var = "x1"), list(var = "g", level = "b", ref = "a"),
                      list(var = "g", level = "c", ref = "a")))
  add_case(paste0("random", s, "_poisson"), dn, "quasipoisson()", "yc ~ x1 + g", "yc ~ x1 + g")
}

out <- list(
  meta = list(
    generator = "make_reference_regression.R",
    r_version = R.version.string,
    survey_version = as.character(packageVersion("survey")),
    jsonlite_version = as.character(packageVersion("jsonlite")),
    tolerance = list(rtol = 1e-6, atol_for_values_near_zero = 1e-9),
    derived_columns = list(yes = "as.numeric(sch.wide == \"Yes\") in apistrat and apiclus1"),
    design_objects = design_objects,
    family_note = "quasibinomial/quasipoisson give the same coefficients and design-based SEs as binomial/poisson (svyglm's variance does not use the dispersion) without R's non-integer-weights warning; `family` names the Python family",
    n_cases = length(cases)),
  cases = cases)
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, null = "null", pretty = TRUE),
           "expected_regression.json")
cat("wrote", length(cases), "cases\n")
