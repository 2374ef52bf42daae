"""The ``shadow`` stage: Split serves the LMS; sampled reads are answered by the facade too and compared."""
