#!/usr/bin/env python3
"""scikit-learn's logistic regression on the bank data, for docs/benchmarks.md.

A reference only (not a test, not a dependency of the build): needs Debian's
python3-sklearn. Same features as bench/bench_bank.c (duration left out),
one-hot categories and standard-scaled numbers, 5-fold shuffled CV.

    /usr/bin/python3 tools/sklearn_bank_reference.py [/work/shared/data/bank/bank_train.csv]
"""
import csv
import sys
import time

import numpy as np
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import KFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

path = sys.argv[1] if len(sys.argv) > 1 else "/work/shared/data/bank/bank_train.csv"
with open(path, newline="") as f:
    table = list(csv.reader(f, delimiter=";"))
header, rows = table[0], table[1:]
y = np.array([r[-1] == "yes" for r in rows], int)
numbers = ["age", "balance", "day", "campaign", "pdays", "previous"]
categories = [c for c in header[:-1] if c not in numbers and c != "duration"]
col = {c: i for i, c in enumerate(header)}
X = np.array([[r[col[c]] for c in categories] + [float(r[col[c]]) for c in numbers] for r in rows], dtype=object)
pre = ColumnTransformer([
    ("c", OneHotEncoder(handle_unknown="ignore"), list(range(len(categories)))),
    ("n", StandardScaler(), list(range(len(categories), len(categories) + len(numbers)))),
])
auc = cross_val_score(make_pipeline(pre, LogisticRegression(max_iter=1000)), X, y,
                      cv=KFold(5, shuffle=True, random_state=0), scoring="roc_auc")
print("LogisticRegression 5-fold ROC AUC %.4f (folds %s)" % (auc.mean(), " ".join("%.4f" % a for a in auc)))
Xt = pre.fit_transform(X)
t0 = time.process_time()
LogisticRegression(max_iter=1000).fit(Xt, y)
print("fit on all %d rows: %.3f s CPU" % (len(rows), time.process_time() - t0))
