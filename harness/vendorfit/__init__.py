"""A behaviour model of each vendor fitted to what the study recorded (issue 14).

- :mod:`.model`: the frozen dataclasses (``VendorModel`` > ``DatasetModel`` > ``PopulationModel``,
  ``ScoreModel``, ``Coverage``, ``Provenance``) with ``to_dict``/``from_dict``;
- :mod:`.families`: the bounded-score families (Beta, logit-normal) and their MLE;
- :mod:`.split`: halves A (fit) and B (validate) by celebrity;
- :mod:`.fit`: ``fit_vendor_model(table, vendor, *, seed, half)`` on the recorded rows;
- :mod:`.aggregates`: cells fitted to the study's published TA/NA (AWS's unrecorded datasets, Naver);
- :mod:`.sample`: synthetic answer rows in the study table's columns;
- :mod:`.validate`: the held-out comparison (KS, W1, answer rates, bootstrap intervals, metrics);
- :mod:`.build`: every vendor in one call (``fit_study_models``) and the YAML form.
"""
