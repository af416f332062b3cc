"""The clerk's web page over a batch or watch output folder."""
