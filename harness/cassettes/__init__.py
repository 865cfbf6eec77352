"""vcrpy cassettes of vendor calls: record with credentials, replay offline.

- :mod:`.keys`: what identifies a call (vendor operation + sha256 of the image bytes);
- :mod:`.secrets`: credential names, shapes and the values in use; ``scrub`` in any encoding;
- :mod:`.filters`: secrets and image bytes removed before anything reaches disk;
- :mod:`.integrity`, :mod:`.persister`: a digest per interaction on save, checks on load;
- :mod:`.vcr_config`: the VCR object, the registered matcher and the playback rules;
- :mod:`.azure_import`: Azure .NET SDK session records (``Entries[]``) -> vcrpy cassette;
- :mod:`.scan`: the secret scanner;
- :mod:`.backend`: a Vendor backend that answers from a cassette (or records one).
"""
