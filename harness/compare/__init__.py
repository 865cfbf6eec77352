"""Mock versus recorded vendor behaviour.

- :mod:`.calls`: per recorded call whose image is available, the mock's answer on the same image
  (name agreement, confidence difference, face box IoU);
- :mod:`.distributions`: a recorded results table against a mock results table (answer rates,
  score floors, confidence ECDFs, KS and Wasserstein distances, the six metrics side by side);
- :mod:`.mock_table`: the mock results table at the study's scale (the embedding-level simulation
  through the mock vendors' behaviour) when no campaign table is given;
- :mod:`.plots`: ECDF overlays (PNG).
"""
