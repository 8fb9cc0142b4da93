# Golden numbers from R's sae (eblupFH, mseFH) on sae's own example data, milk.
#
# sae could not be installed here (CRAN unreachable, not packaged by Debian), and its code is
# GPL: it is not in this repository. Put sae 1.3's R/eblupFH.R and R/mseFH.R (from the CRAN
# source package or the cran/sae GitHub mirror) in a folder and pass that folder:
#
#   cd tests/reference && Rscript make_sae_milk_reference.R /path/to/sae/R
#
# The script checks the two files against the MD5 sums sae 1.3's own MD5 file lists, sources
# them, and runs the examples of sae's man pages (man/eblupFH.Rd, man/mseFH.Rd):
#   attach(milk); mseFH(yi ~ as.factor(MajorArea), SD^2, method = M)
# for M in REML, ML, FH at sae's default stopping rule (MAXITER = 100, PRECISION = 1e-4),
# and again at PRECISION = 1e-12. It reads sae_milk.csv (sae's milk as shipped by samplics
# 0.6.1, columns renamed to sae's) and writes sae_milk_expected.json.
suppressPackageStartupMessages(library(jsonlite))

args <- commandArgs(trailingOnly = TRUE)
if (length(args) != 1) stop("usage: Rscript make_sae_milk_reference.R /path/to/sae/R")
src <- args[[1]]
sae_md5 <- c("eblupFH.R" = "b8db7c64a21ab22b79043c13d6711f97",  # sae 1.2 and 1.3 MD5 file
             "mseFH.R" = "f63600dc176c824d18aab49498e22329")    # sae 1.1, 1.2 and 1.3
files <- file.path(src, names(sae_md5))
found_md5 <- unname(tools::md5sum(files))
if (!identical(found_md5, unname(sae_md5)))
  stop("these are not sae 1.3's eblupFH.R and mseFH.R: MD5 ", paste(found_md5, collapse = " "))
for (f in files) source(f)

raw <- read.csv("sae_milk.csv")
milk <- data.frame(SmallArea = raw$small_area, ni = raw$samp_size, yi = raw$direct_est,
                   SD = raw$std_error, CV = raw$coef_var, MajorArea = raw$major_area)
# man/milk.Rd: 43 areas; CV is the coefficient of variation of yi (rounded to 3 decimals).
stopifnot(nrow(milk) == 43, identical(milk$SmallArea, 1:43),
          setequal(milk$MajorArea, 1:4), all(abs(milk$CV - milk$SD / milk$yi) < 1.5e-3))

# Numbers at full double precision (17 significant digits; jsonlite stops at 15).
exact <- function(x) {
  text <- sprintf("%.17g", x)
  structure(if (length(x) == 1) text else paste0("[", paste(text, collapse = ", "), "]"),
            class = "json")
}

attach(milk)
cases <- list()
for (method in c("REML", "ML", "FH")) {
  for (precision in c(1e-4, 1e-12)) {
    fit <- eblupFH(yi ~ as.factor(MajorArea), SD^2, method = method, PRECISION = precision)
    mse <- mseFH(yi ~ as.factor(MajorArea), SD^2, method = method, PRECISION = precision)
    stopifnot(fit$fit$convergence, mse$est$fit$convergence,
              identical(as.vector(fit$eblup), as.vector(mse$est$eblup)))
    name <- paste0(tolower(method), if (precision < 1e-4) "_tight" else "")
    cases[[name]] <- list(
      method = method, maxiter = 100, precision = precision,
      r_call_eblup = sprintf('eblupFH(yi ~ as.factor(MajorArea), SD^2, method = "%s", PRECISION = %g)',
                             method, precision),
      r_call_mse = sprintf('mseFH(yi ~ as.factor(MajorArea), SD^2, method = "%s", PRECISION = %g)',
                           method, precision),
      iterations = fit$fit$iterations,
      refvar = exact(fit$fit$refvar),
      beta_names = rownames(fit$fit$estcoef),
      beta = exact(fit$fit$estcoef$beta),
      beta_std_error = exact(fit$fit$estcoef$std.error),
      loglike = exact(unname(fit$fit$goodness["loglike"])),
      areas = SmallArea,
      eblup = exact(as.vector(fit$eblup)),
      mse = exact(mse$mse)
    )
  }
}
detach(milk)

out <- list(
  r_version = R.version.string,
  sae = "1.3: R/eblupFH.R and R/mseFH.R sourced (not installed), MD5 as in sae 1.3's MD5 file",
  sae_md5 = as.list(sae_md5),
  jsonlite = as.character(packageVersion("jsonlite")),
  data = "sae_milk.csv",
  data_columns = list(SmallArea = "small_area", ni = "samp_size", yi = "direct_est",
                   SD = "std_error", CV = "coef_var", MajorArea = "major_area"),
  cases = cases
)
writeLines(toJSON(out, auto_unbox = TRUE, pretty = TRUE, json_verbatim = TRUE), "sae_milk_expected.json")
