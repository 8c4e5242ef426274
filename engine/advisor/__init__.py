"""The advisor: answers to an expert's questions before and after training, from their own data.

- `which_model`: each candidate model on this computer scored on a sample of the data by fast probes on
  its frozen features (k nearest neighbours, a linear classifier, LogME as a second opinion);
- `curve`: would more examples help? probe scores at nested fractions of the data, a power-law family
  fitted to them, and a band from refitting on resampled points;
- `label_next`: which unlabelled texts to label next (uncertain and unlike each other), written to a CSV,
  and the filled-in CSV merged back into the training data through the data doctor.

`job.run` is the job process's recipe for all three (the `advise` job kind), so they report progress
through the database like every other job. No scikit-learn: the probes are a few dozen lines of torch and
numpy (see `probes`), not worth a new dependency.
"""
