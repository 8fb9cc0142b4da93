## make_nonprob_reference.R -- golden numbers for perception.nonprob from R's `survey`
##
## Regenerate with:   cd tests/reference && Rscript make_nonprob_reference.R
## Writes: nonprob_sample.csv, nonprob_reference.csv, expected_nonprob.json
##
## Data: a synthetic population (set.seed(20261204), N = 6000) with a numeric covariate x1,
## a three-level region and outcomes y (numeric) and yes (0/1); a stratified two-stage
## reference sample (3 strata, 10 PSUs drawn per stratum, 15 units per PSU, design weight
## d = inverse inclusion probability) and a selective non-probability sample (Poisson with
## logit propensity -3 + 0.8 x1 + 0.6 [region == "c"]).
##
## There is no non-probability estimator in survey 4.1.1 (nonprobsvy is not installed), so:
##  - CLW coefficients: Newton's method on Chen, Li & Wu (2020) eq. (3) written here,
##    U(theta) = sum_A x - sum_B d expit(x'theta) x; pseudo-weights 1/pi.
##  - Valliant-Dever coefficients: svyglm(z ~ x1 + region, family = quasibinomial()) on the
##    stacked samples with weight 1 (sample) and d (reference), ids = ~1; pseudo-weights
##    exp(-x'theta) (Wang, Valliant & Li 2021).
##  - Means: sum(w y)/sum(w). Variance: CLW (2020) Theorem 2 plug-in,
##    V = N^-2 [sum_A (1 - pi)(w (y - mu) - c'a)^2 + c' vcov(svytotal(~b, dref)) c],
##    with dref = svydesign(ids = ~psu, strata = ~stratum, weights = ~d, data = ref):
##    R's design-based variance of the reference-sample total of b = pi x (CLW) or p x (VD).
##    c = J^-1 h, J = dU/dtheta, h = -sum_A exp(-eta) (y - mu) x.

suppressPackageStartupMessages({
  library(survey)
  library(jsonlite)
})
set.seed(20261204)
N <- 6000
stratum <- rep(1:3, each = N / 3)
psu <- rep(1:(N / 30), each = 30)  # 200 PSUs of 30 units, nested in strata
x1 <- rnorm(N) + 0.3 * stratum
region <- sample(c("a", "b", "c"), N, replace = TRUE)
y <- 1 + 0.8 * x1 + 0.5 * (region == "b") + 1.0 * (region == "c") + rnorm(N)
yes <- as.numeric(runif(N) < plogis(-0.5 + 0.9 * x1))
pop <- data.frame(id = 1:N, stratum, psu, x1, region, y, yes)

# reference sample: 10 of 66-67 PSUs per stratum, 15 of 30 units per PSU
ref <- do.call(rbind, lapply(1:3, function(h) {
  psus <- unique(pop$psu[pop$stratum == h])
  chosen <- sort(sample(psus, 10))
  do.call(rbind, lapply(chosen, function(j) {
    units <- pop[pop$psu == j, ]
    units <- units[sort(sample(nrow(units), 15)), ]
    units$d <- (length(psus) / 10) * (30 / 15)
    units
  }))
}))
pa <- plogis(-3 + 0.8 * pop$x1 + 0.6 * (pop$region == "c"))
samp <- pop[runif(N) < pa, ]
samp$y[c(3, 17)] <- NA  # item non-response in the sample
write.csv(samp[, c("id", "x1", "region", "y", "yes")], "nonprob_sample.csv", row.names = FALSE)
write.csv(ref[, c("id", "stratum", "psu", "d", "x1", "region")], "nonprob_reference.csv",
          row.names = FALSE)

mm <- function(df) cbind(1, df$x1, df$region == "b", df$region == "c") * 1
xa <- mm(samp); xb <- mm(ref); d <- ref$d
dref <- svydesign(ids = ~psu, strata = ~stratum, weights = ~d, data = ref)

clw_theta <- function() {
  theta <- c(log(nrow(samp) / (sum(d) - nrow(samp))), 0, 0, 0)
  for (i in 1:100) {
    p <- plogis(drop(xb %*% theta))
    U <- colSums(xa) - colSums(xb * (d * p))
    J <- -crossprod(xb, xb * (d * p * (1 - p)))
    theta <- theta - solve(J, U)
    if (max(abs(U)) < 1e-12 * sum(d)) break
  }
  theta
}

stacked <- rbind(data.frame(z = 1, w = 1, x1 = samp$x1, region = samp$region),
                 data.frame(z = 0, w = d, x1 = ref$x1, region = ref$region))
vd_fit <- svyglm(z ~ x1 + region, design = svydesign(ids = ~1, weights = ~w, data = stacked),
                 family = quasibinomial())

estimate <- function(method, theta, variable) {
  eta_a <- drop(xa %*% theta); eta_b <- drop(xb %*% theta)
  if (method == "clw") {
    w <- 1 + exp(-eta_a); afac <- rep(1, nrow(xa)); pb <- plogis(eta_b)
    J <- -crossprod(xb, xb * (d * pb * (1 - pb)))
  } else {
    w <- exp(-eta_a); pa <- plogis(eta_a); afac <- 1 - pa; pb <- plogis(eta_b)
    J <- -crossprod(xb, xb * (d * pb * (1 - pb))) - crossprod(xa, xa * (pa * (1 - pa)))
  }
  yv <- samp[[variable]]; obs <- !is.na(yv); y0 <- ifelse(obs, yv, 0)
  Nh <- sum(w[obs]); mu <- sum(w * y0) / Nh
  r <- ifelse(obs, y0 - mu, 0)
  h <- -colSums(xa * (exp(-eta_a) * r))
  cc <- solve(J, h)
  g <- w * r - drop(xa %*% cc) * afac
  pois <- pmax(1 - 1 / w, 0)
  b <- xb * pb
  ref_b <- data.frame(ref, b1 = b[, 1], b2 = b[, 2], b3 = b[, 3], b4 = b[, 4])
  dref_b <- svydesign(ids = ~psu, strata = ~stratum, weights = ~d, data = ref_b)
  D <- vcov(svytotal(~b1 + b2 + b3 + b4, dref_b))
  v <- (sum(pois * g^2) + drop(t(cc) %*% D %*% cc)) / Nh^2
  list(estimate = mu, se = sqrt(v), unweighted = mean(yv[obs]),
       weight_sum = sum(w), w_first5 = w[1:5])
}

theta_clw <- clw_theta()
theta_vd <- unname(coef(vd_fit))
cases <- list()
for (m in c("clw", "valliant_dever")) {
  th <- if (m == "clw") theta_clw else theta_vd
  for (v in c("y", "yes")) {
    cases[[length(cases) + 1]] <- c(list(method = m, variable = v, coefficients = th),
                                    estimate(m, th, v))
  }
}
out <- list(
  meta = list(
    r_version = R.version.string,
    survey_version = as.character(packageVersion("survey")),
    jsonlite_version = as.character(packageVersion("jsonlite")),
    seed = 20261204, n_sample = nrow(samp), n_reference = nrow(ref),
    design = "svydesign(ids = ~psu, strata = ~stratum, weights = ~d, data = ref)",
    vd_call = "svyglm(z ~ x1 + region, design = svydesign(ids = ~1, weights = ~w, data = stacked), family = quasibinomial())",
    tolerance = 1e-6
  ),
  cases = cases
)
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, pretty = TRUE), "expected_nonprob.json")
