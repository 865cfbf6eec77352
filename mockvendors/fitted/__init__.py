"""A vendor's behaviour model fitted to what it answered (fitted by :mod:`harness.vendorfit`): the model
itself (:mod:`.model`) and its score distributions (:mod:`.distributions`), here so that the mock
vendors can answer from it."""
