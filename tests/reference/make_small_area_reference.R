# Golden numbers for perception.small_area (Fay-Herriot area-level model).
#
# R's sae (eblupFH / mseFH) and emdi are not installable on this machine (CRAN unreachable,
# not packaged by Debian). metafor's rma.uni fits the same model: y_d = x_d'beta + u_d + e_d,
# u_d ~ N(0, tau2), e_d ~ N(0, v_d) with v_d known; its tau2 is the Fay-Herriot sigma2_u, and
# blup() gives the EBLUP x_d'beta + gamma_d (y_d - x_d'beta) with gamma_d = tau2 / (tau2 + v_d).
# method = "REML" and "ML" are sae's REML and ML; method = "PM" (Paule-Mandel, the root of
# sum w_d (y_d - x_d'beta)^2 = m - p) is the Fay-Herriot (1979) moment estimator, sae's "FH".
# The Prasad-Rao MSE (sae::mseFH) is written out below from Rao & Molina (2015), eq. 6.2.11
# (REML), with the Datta-Lahiri (2000) bias term for ML and Datta, Rao & Smith (2005) for FH.
#
# Run: cd tests/reference && Rscript make_small_area_reference.R
suppressPackageStartupMessages({
  library(survey)
  library(metafor)
  library(jsonlite)
})

ctrl <- list(threshold = 1e-12, maxiter = 1000, tol = 1e-14)
methods <- c(reml = "REML", ml = "ML", fh = "PM")

# Prasad-Rao MSE, written from the formulas (not from sae's code or perception's).
prasad_rao <- function(tau2, v, X, method) {
  m <- nrow(X); p <- ncol(X)
  w <- 1 / (tau2 + v)                          # 1 / (sigma2_u + psi_d)
  Q <- solve(t(X) %*% (w * X))                 # (X'V^-1 X)^-1
  B <- v / (tau2 + v)                          # 1 - gamma_d
  g1 <- tau2 * v / (tau2 + v)
  g2 <- B^2 * rowSums((X %*% Q) * X)
  if (method == "fh") {
    var_a <- 2 * m / sum(w)^2
    bias <- 2 * (m * sum(w^2) - sum(w)^2) / sum(w)^3
  } else {
    var_a <- 2 / sum(w^2)                      # inverse Fisher information of tau2
    bias <- if (method == "ml") -sum(diag(Q %*% t(X) %*% (w^2 * X))) / sum(w^2) else 0
  }
  g3 <- v^2 / (tau2 + v)^3 * var_a
  list(g1 = g1, g2 = g2, g3 = g3, mse = g1 + g2 + 2 * g3 - bias * B^2)
}

cases <- list()
add_case <- function(name, data_file, dat, covariates, method, note) {
  sampled <- dat[dat$sampled == 1, ]
  others <- dat[dat$sampled == 0, ]
  form <- as.formula(paste("~", paste(covariates, collapse = " + ")))
  call <- sprintf(
    'rma.uni(yi = y, vi = v, mods = %s, data = d[d$sampled == 1, ], method = "%s", control = list(threshold = 1e-12, maxiter = 1000, tol = 1e-14))',
    deparse(form), methods[[method]])
  fit <- rma.uni(yi = y, vi = v, mods = form, data = sampled, method = methods[[method]],
                 control = ctrl)
  X <- model.matrix(form, sampled)
  b <- blup(fit)
  pr <- prasad_rao(fit$tau2, sampled$v, X, method)
  out <- list(
    data = data_file, covariates = covariates, method = method, note = note,
    r_call = call,
    r_blup_call = "blup(fit)  # pred = EBLUP, se^2 = g1 + g2",
    r_synthetic_call = "predict(fit, newmods = ...)  # pred = x'beta, se^2 = x'Q x; MSE = tau2 + se^2",
    sigma2_u = fit$tau2, beta = unname(as.vector(fit$beta)),
    converged = TRUE,
    areas = sampled$area, eblup = unname(b$pred), blup_se = unname(b$se),
    gamma = fit$tau2 / (fit$tau2 + sampled$v),
    g1 = pr$g1, g2 = pr$g2, g3 = pr$g3, mse = pr$mse,
    max_rel_diff_g1g2_vs_blup_se2 = max(abs((pr$g1 + pr$g2) - b$se^2) / (b$se^2))
  )
  if (nrow(others) > 0) {
    Xo <- model.matrix(form, others)[, -1, drop = FALSE]
    pr_o <- predict(fit, newmods = Xo)
    out$synthetic_areas <- others$area
    out$synthetic <- unname(as.vector(pr_o$pred))
    out$synthetic_mse <- unname(fit$tau2 + pr_o$se^2)
  }
  cases[[name]] <<- out
}

# 1. metafor's BCG trials as 13 "areas": log risk ratios and their sampling variances,
#    absolute latitude and year as area covariates; trials 12 and 13 play unsampled areas.
bcg <- escalc(measure = "RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg)
d_bcg <- data.frame(area = bcg$trial, y = as.numeric(bcg$yi), v = as.numeric(bcg$vi),
                    ablat = bcg$ablat, year = bcg$year,
                    sampled = as.integer(bcg$trial <= 11))
write.csv(d_bcg, "small_area_bcg.csv", row.names = FALSE)
for (m in names(methods))
  add_case(paste0("bcg_", m), "small_area_bcg.csv", d_bcg, c("ablat", "year"), m,
           "escalc(measure='RR', ai=tpos, bi=tneg, ci=cpos, di=cneg, data=dat.bcg); trials 12-13 unsampled")

# 2. California schools by county: direct survey means of api00 from the stratified sample
#    (svyby over cnum), county means of meals and ell from the population file as covariates.
#    Counties with fewer than 2 sampled schools (direct SE 0) and counties with none are the
#    unsampled areas. The proportion of schools with api00 >= 650 goes through the arcsine
#    transform: y = asin(sqrt(p)), v = 1 / (4 n_eff), n_eff = p(1-p) / SE^2 (0 < p < 1 only).
data(api)
dstrat <- svydesign(id = ~1, strata = ~stype, weights = ~pw, fpc = ~fpc, data = apistrat)
dstrat <- update(dstrat, high = as.numeric(api00 >= 650))
direct <- svyby(~api00 + high, ~cnum, dstrat, svymean)
n_county <- as.data.frame(table(cnum = apistrat$cnum), stringsAsFactors = FALSE)
n_county$cnum <- as.integer(n_county$cnum)
pop <- aggregate(cbind(meals, ell) ~ cnum, data = apipop, FUN = mean)
d_api <- merge(pop, data.frame(cnum = direct$cnum, api00 = direct$api00, se_api00 = direct$se.api00,
                               high = direct$high, se_high = direct$se.high), all.x = TRUE)
d_api <- merge(d_api, n_county, all.x = TRUE)
names(d_api)[names(d_api) == "Freq"] <- "n"
d_api$n[is.na(d_api$n)] <- 0L
d_api <- d_api[order(d_api$cnum), ]
write.csv(d_api, "small_area_api_county.csv", row.names = FALSE, na = "")
base <- data.frame(area = d_api$cnum, meals = d_api$meals, ell = d_api$ell)
d_mean <- cbind(base, y = d_api$api00, v = d_api$se_api00^2,
                sampled = as.integer(d_api$n >= 2))
for (m in names(methods))
  add_case(paste0("api_mean_", m), "small_area_api_county.csv", d_mean, c("meals", "ell"), m,
           "svyby(~api00, ~cnum, svydesign(id=~1, strata=~stype, weights=~pw, fpc=~fpc, data=apistrat), svymean); counties with n >= 2")
p <- d_api$high
neff <- p * (1 - p) / d_api$se_high^2
d_prop <- cbind(base, y = asin(sqrt(p)), v = 1 / (4 * neff),
                sampled = as.integer(!is.na(p) & d_api$n >= 2 & p > 0 & p < 1))
add_case("api_arcsin_reml", "small_area_api_county.csv", d_prop, c("meals", "ell"), "reml",
         "high = api00 >= 650; y = asin(sqrt(p)), v = 1/(4 n_eff), n_eff = p(1-p)/SE^2; counties with n >= 2 and 0 < p < 1; back-transform sin(eblup)^2")
cases$api_arcsin_reml$back_transformed <- sin(pmin(pmax(cases$api_arcsin_reml$eblup, 0), pi / 2))^2
cases$api_arcsin_reml$direct_p <- p[d_prop$sampled == 1]
cases$api_arcsin_reml$n_eff <- neff[d_prop$sampled == 1]

# 3. A random design: 40 areas, two covariates, sampling variances from 0.2 to 3; areas 36-40
#    unsampled. A second response with no area effect drives the REML estimate to 0.
set.seed(20261204)
m <- 40
x1 <- rnorm(m); x2 <- runif(m, 0, 10)
v <- runif(m, 0.2, 3)
y <- 1 + 0.5 * x1 - 0.2 * x2 + rnorm(m, sd = 1) + rnorm(m, sd = sqrt(v))
y0 <- 1 + 0.5 * x1 - 0.2 * x2 + rnorm(m, sd = sqrt(v)) * 0.5
d_rand <- data.frame(area = seq_len(m), y = y, y0 = y0, v = v, x1 = x1, x2 = x2,
                     sampled = as.integer(seq_len(m) <= 35))
write.csv(d_rand, "small_area_random.csv", row.names = FALSE)
for (mm in names(methods))
  add_case(paste0("random_", mm), "small_area_random.csv", d_rand, c("x1", "x2"), mm,
           "set.seed(20261204); see make_small_area_reference.R")
d_zero <- transform(d_rand, y = y0)
add_case("random_zero_reml", "small_area_random.csv", d_zero, c("x1", "x2"), "reml",
         "response y0 (no area effect, variances overstated 4-fold): REML tau2 at the boundary 0")

meta <- list(
  generated = format(Sys.time(), tz = "UTC", usetz = TRUE),
  r_version = R.version.string,
  metafor = as.character(packageVersion("metafor")),
  survey = as.character(packageVersion("survey")),
  jsonlite = as.character(packageVersion("jsonlite")),
  tolerance = list(rtol = 1e-6),
  note = "sae::eblupFH/mseFH could not be run (not installable); metafor::rma.uni stands in for eblupFH and the Prasad-Rao MSE is computed from its formula"
)
writeLines(toJSON(list(meta = meta, cases = cases), digits = NA, auto_unbox = TRUE, pretty = TRUE),
           "small_area_expected.json")
