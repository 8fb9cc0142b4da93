## make_reference_hadamard.R -- R's BRR Hadamard matrices and BRR/Fay goldens (issue 11)
##
## Regenerate with:  cd tests/reference && Rscript make_reference_hadamard.R
## Writes: expected_hadamard.json      survey:::hadamard(n) for n = 1..130 and a few larger n,
##                                     as.svrepdesign(type = "BRR") factors of random designs,
##                                     and svymean / svytotal / svyby / svyciprop on them
##         rep_brr_random.csv          the random two-PSU-per-stratum designs
##         ../../src/perception/hadamard_stored.json
##                                     the two matrices survey 4.1 stores rather than builds
##                                     (orders 28 and 36, survey:::hadamard.list[3:4])
##
## Matrices are written as R holds them (0/1; 1 is +1), one hex string per row: the row's
## bits, padded with zeros on the right to a multiple of 4. Identical matrices are stored once.
suppressPackageStartupMessages({ library(survey); library(jsonlite) })
LEVEL <- 0.95

hexrow <- function(bits) {
  bits <- c(bits, rep(0, (4 - length(bits) %% 4) %% 4))
  paste(sprintf("%x", colSums(matrix(bits, nrow = 4) * c(8, 4, 2, 1))), collapse = "")
}
hexmat <- function(H) unname(apply(H, 1, hexrow))

## 1. survey:::hadamard(n): the matrix brrweights() uses for n strata.
sizes <- c(1:130, 150, 200, 250)
keys <- character(0); store <- list()
for (n in sizes) {
  H <- survey:::hadamard(n)
  rows <- hexmat(H)
  found <- which(vapply(store, function(s) identical(s, rows), TRUE))
  if (length(found)) key <- names(store)[found[1]] else {
    key <- paste0("m", length(store) + 1, "_order", nrow(H))
    store[[key]] <- rows
  }
  keys[as.character(n)] <- key
}

## 2. The stored matrices (not built by Sylvester's doubling nor Paley's construction).
stored <- survey:::hadamard.list
sylv <- matrix(1, 1, 1)
for (i in 1:4) sylv <- survey:::hadamard.doubler(sylv)
stopifnot(identical(unname(stored[[2]] + 0), unname(sylv + 0)))  # orders 4 and 16 are Sylvester's
stopifnot(identical(unname(stored[[1]] + 0), unname(survey:::hadamard.doubler(survey:::hadamard.doubler(matrix(1, 1, 1))) + 0)))
writeLines(toJSON(list(
  provenance = paste0("survey:::hadamard.list[[3]] and [[4]] (orders 28 and 36) of R package survey ",
                      packageVersion("survey"), " (", R.version.string, "), written by ",
                      "tests/reference/make_reference_hadamard.R; orders 4 and 16 of that list are ",
                      "Sylvester matrices and are built, not stored. One hex string per row, 0/1 ",
                      "entries (1 is +1), padded with zeros on the right to a multiple of 4 bits."),
  matrices = list(`28` = hexmat(stored[[3]]), `36` = hexmat(stored[[4]]))),
  auto_unbox = TRUE, pretty = TRUE), "../../src/perception/hadamard_stored.json")

## 3. Random two-PSU-per-stratum designs, rows shuffled, strata labelled so that their order
## as text differs from their numeric order, PSU ids unrelated to row order.
set.seed(20261204)
Hs <- c(2, 3, 5, 9, 11, 13, 25, 27, 34, 35, 41, 60, 100)
designs <- list(); random <- list()
for (k in seq_along(Hs)) {
  H <- Hs[k]
  sizes_k <- sample(3:8, 2 * H, replace = TRUE)
  pid <- sample(1000:9999, 2 * H)
  lab <- if (k %% 3 == 0) sample(c(letters, LETTERS, paste0("s", 1:100)), H) else sample(1:H)
  psu <- rep(pid, sizes_k)
  strat <- rep(rep(lab, each = 2), sizes_k)
  n <- length(psu)
  df <- data.frame(design = k, stratum = strat, psu = psu,
                   w = round(runif(n, 1, 20), 3), y = round(rnorm(n, 50, 10), 3),
                   z = rbinom(n, 1, 0.3), dom = sample(1:3, n, replace = TRUE))
  df <- df[sample.int(n), ]
  rownames(df) <- NULL
  random[[k]] <- df
  d0 <- svydesign(id = ~psu, strata = ~stratum, weights = ~w, data = df)
  bits <- NULL
  res <- list()
  for (type in c("BRR", "Fay")) for (mse in c(FALSE, TRUE)) {
    code <- sprintf("as.svrepdesign(d0, type = \"%s\"%s, mse = %s)", type,
                    if (type == "Fay") ", fay.rho = 0.5" else "", mse)
    r <- eval(parse(text = code))
    if (type == "BRR" && !mse) {
      f <- weights(r, "analysis") / df$w
      first <- !duplicated(df$psu)
      o <- order(df$psu[first])
      bits <- list(psu = df$psu[first][o], factors = hexmat((f[first, , drop = FALSE] > 1)[o, , drop = FALSE] + 0))
    }
    m <- svymean(~y + z, r); t <- svytotal(~y, r)
    b <- svyby(~y, ~dom, r, svymean)
    ci <- svyciprop(~I(z == 1), r, method = "logit", level = LEVEL)
    cb <- svyby(~I(z == 1), ~dom, r, svyciprop, method = "logit", vartype = "ci", level = LEVEL)
    res[[length(res) + 1]] <- list(
      type = type, mse = mse, fay_rho = if (type == "Fay") 0.5 else 0,
      r_call = paste0("r <- ", code, "; svymean(~y + z, r); svytotal(~y, r); svyby(~y, ~dom, r, svymean); ",
                      "svyciprop(~I(z == 1), r, method = \"logit\"); ",
                      "svyby(~I(z == 1), ~dom, r, svyciprop, method = \"logit\", vartype = \"ci\")"),
      n_replicates = ncol(weights(r, "analysis")), scale = r$scale, degf = degf(r),
      mean = unname(coef(m)), mean_se = unname(SE(m)), total = unname(coef(t)),
      total_se = unname(SE(t)), by_dom = b$dom, by_mean = unname(coef(b)), by_se = unname(SE(b)),
      prop = unname(as.numeric(ci)), prop_ci = unname(as.numeric(confint(ci))),
      by_prop = unname(as.numeric(coef(cb))), by_ci_low = unname(cb$ci_l), by_ci_high = unname(cb$ci_u))
  }
  designs[[k]] <- list(design = k, n_strata = H, strata_labels = if (is.character(lab)) "text" else "numbers",
                       brr_factors = bits, results = res)
}
write.csv(do.call(rbind, random), "rep_brr_random.csv", row.names = FALSE)

## 4. How R sorts stratum labels as text (brrweights: table() and order() of as.character(strata)).
set.seed(7)
pool <- strsplit(" _-,;:!?.'\"()[]{}@*/\\&#%`^+<=>|~$0123456789aAbBzZ", "")[[1]]
ascii <- replicate(300, paste(sample(pool, sample(1:5, 1), replace = TRUE), collapse = ""))
words <- c("Sfax", "sfax", "Tunis", "M\u00e9denine", "m\u00e9denine", "Medenine", "Mednine",
           "B\u00e9ja", "Beja", "Ben Arous", "Ben_Arous", "Bizerte", "K\u00e9bili", "Kef", "Le Kef",
           "Gab\u00e8s", "Gabes", "Gab\u00eas", "Gafsa", "\u00celes", "Iles", "na\u00efve", "naive",
           "Stra\u00dfe", "Strasse", "\u00e7a", "ca", "c\u00e0", "1", "10", "9", "-1", "1.5", "1e+05",
           "s1", "s10", "s2", "S1", "urban_1", "Urban-1", "rural 2")
collation <- list(labels = c(ascii, words), sorted = sort(unique(c(ascii, words))))
## ... and how as.character() writes numeric stratum ids (15 significant digits, R's width rule).
reals <- c(1, 2.5, 100000, 123456, 0.1, 1e-05, 1e-04, 0.001, 123.456, 0.1 + 0.2, -2, -1e+05,
           1e+15, 1234567890123456, 2.5e-07, 3e+20, 0, 1/3, 10, 100000.5, 2e+05, 1200000)
as_character <- list(values = sprintf("%.17g", reals), text = as.character(reals))

meta <- list(generator = "make_reference_hadamard.R", r_version = R.version.string,
             survey_version = as.character(packageVersion("survey")),
             locale_collate = Sys.getlocale("LC_COLLATE"),
             generated = format(Sys.time(), "%Y-%m-%d %H:%M:%S %Z"),
             tolerance = list(rtol = 1e-6),
             hadamard_call = "survey:::hadamard(n)",
             design_object = "d0 <- svydesign(id = ~psu, strata = ~stratum, weights = ~w, data = rep_brr_random[design == k, ])",
             brr_factors = "weights(as.svrepdesign(d0, type = \"BRR\"), \"analysis\") / w > 1 on each PSU's first row; PSUs sorted by id",
             seed = 20261204)
writeLines(toJSON(list(meta = meta, hadamard = list(n = as.list(keys), matrices = store),
                       designs = designs, collation = collation,
                       as_character = as_character),
                  auto_unbox = TRUE, digits = I(15), null = "null", na = "null", pretty = FALSE),
           "expected_hadamard.json")
cat("matrices:", length(store), " designs:", length(designs), "\n")
