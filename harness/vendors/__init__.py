"""One vendor interface (:mod:`harness.vendors.base`), several backends."""
