"""Entity tagging: marking names of a kind (diseases, drugs, people) in text. Scores and word alignment are
plain Python; prediction (predict.py) needs torch and is imported only where a model runs."""
