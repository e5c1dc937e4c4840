"""
A reference for `npm run bench risk`: how far an independent, stronger learner gets on the same OULAD
split, straight from the CSV files (not through campus-twin). scikit-learn's HistGradientBoosting on a
wider feature set than the product's: everything the product sees as of the cut-off day (clicks, active
days, recency, submissions on time / late / missing, scores, registration lead, activity against the
course median), plus week-by-week activity, scores per assessment type and distinct sites; and, as a
ceiling the product may not use (the issue allows learning and admin events only), the demographic
columns studied credits and previous attempts.

Train: presentations before 2014J; test: 2014J. Prints one JSON object on stdout.
Run: /usr/bin/python3 bench/oulad/reference.py DATA_DIR CUTOFF_DAY   (Debian python3-sklearn, python3-pandas)
"""

import json
import sys

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import roc_auc_score

KEY = ['code_module', 'code_presentation', 'id_student']


def features(d, cut):
    info = pd.read_csv(d + '/studentInfo.csv')
    reg = pd.read_csv(d + '/studentRegistration.csv')
    ass = pd.read_csv(d + '/assessments.csv')
    sa = pd.read_csv(d + '/studentAssessment.csv')
    vle = pd.read_csv(d + '/studentVle_daily_clicks.csv.gz')
    df = info[KEY + ['final_result', 'studied_credits', 'num_of_prev_attempts']].merge(reg, on=KEY)
    df['y'] = (df.final_result == 'Withdrawn').astype(int)
    df['still'] = ~(df.date_unregistration <= cut)
    v = vle[vle.date <= cut]
    g = v.groupby(KEY)
    f = pd.DataFrame({'clicks': g.sum_click.sum(), 'days': g.date.nunique(), 'last': g.date.max(),
                      'sites': g.n_sites.sum()})
    f['pre'] = v[v.date < 0].groupby(KEY).sum_click.sum()
    last7 = v[v.date > cut - 7].groupby(KEY)
    f['l7'] = last7.sum_click.sum()
    f['l7d'] = last7.date.nunique()
    f['l14d'] = v[v.date > cut - 14].groupby(KEY).date.nunique()
    weeks = []
    for w in range(-3, cut // 7):
        part = v[(v.date >= 7 * w) & (v.date < 7 * w + 7)].groupby(KEY)
        f[f'w{w}'] = part.sum_click.sum()
        f[f'd{w}'] = part.date.nunique()
        weeks += [f'w{w}', f'd{w}']
    df = df.merge(f.reset_index(), on=KEY, how='left')
    df[[c for c in f.columns if c != 'last']] = df[[c for c in f.columns if c != 'last']].fillna(0)
    df['since'] = np.where(df['last'].isna(), 60, np.minimum(60, cut - df['last']))
    a = ass.merge(sa, on='id_assessment')
    a = a[a.date_submitted <= cut].copy()
    a['late'] = a.date_submitted > a.date
    a['early'] = a.date - a.date_submitted
    ga = a.groupby(KEY)
    af = pd.DataFrame({'nsub': ga.id_assessment.count(), 'mscore': ga.score.mean(), 'nlate': ga.late.sum(),
                       'early': ga.early.mean(),
                       'tma_score': a[a.assessment_type == 'TMA'].groupby(KEY).score.mean(),
                       'cma_score': a[a.assessment_type == 'CMA'].groupby(KEY).score.mean()})
    df = df.merge(af.reset_index(), on=KEY, how='left')
    due = ass[ass.date <= cut].groupby(['code_module', 'code_presentation']).id_assessment.count()
    df = df.merge(due.rename('ndue').reset_index(), on=['code_module', 'code_presentation'], how='left')
    df[['ndue', 'nsub', 'nlate']] = df[['ndue', 'nsub', 'nlate']].fillna(0)
    df['missing'] = np.maximum(0, df.ndue - df.nsub)
    df['lead'] = -df.date_registration
    course = df.code_module + df.code_presentation
    for c in ['clicks', 'l7', 'days']:
        lc = np.log1p(df[c])
        df['rel_' + c] = lc - lc.groupby(course).transform('median')
    product = ['clicks', 'pre', 'l7', 'days', 'l14d', 'since', 'nsub', 'nlate', 'missing', 'mscore', 'lead',
               'rel_clicks', 'rel_l7', 'rel_days']
    wider = product + weeks + ['l7d', 'sites', 'early', 'tma_score', 'cma_score']
    return df, product, wider, wider + ['studied_credits', 'num_of_prev_attempts']


def main():
    d, cut = sys.argv[1], int(sys.argv[2])
    df, product, wider, demographic = features(d, cut)
    test = (df.code_presentation == '2014J').values
    te = df[test]
    still = te.still.values
    out = {'cutoffDay': cut, 'rows': int(test.sum()), 'rowsStillEnrolled': int(still.sum())}
    for name, cols in [('product', product), ('wider', wider), ('demographic', demographic)]:
        m = HistGradientBoostingClassifier(max_iter=300, learning_rate=0.05, max_leaf_nodes=15,
                                           min_samples_leaf=40, random_state=0)
        m.fit(df.loc[~test, cols], df.loc[~test, 'y'])
        p = m.predict_proba(te[cols])[:, 1]
        out[name] = {'features': len(cols), 'auc': round(roc_auc_score(te.y, p), 4),
                     'aucStillEnrolled': round(roc_auc_score(te.y[still], p[still]), 4)}
    print(json.dumps(out))


if __name__ == '__main__':
    main()
