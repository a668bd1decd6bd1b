"""Expected volumes: what a service's size, age and criticality say its count should be."""

from __future__ import annotations

import numpy as np
import pandas as pd

FORMULA = "count ~ np.log(complexity) + platform_age_years + C(criticality)"
COVARIATES = ["complexity", "platform_age_years", "criticality"]


def expected_rates(counts: pd.DataFrame, services: pd.DataFrame) -> pd.Series:
    """Fit a Poisson GLM of per-service counts and predict each service's count per day.

    Parameters
    ----------
    counts : DataFrame
        ``service_id, count, exposure``: one row per service and pre-plan period, with the
        period's length in days as exposure.
    services : DataFrame
        ``service_id`` with the covariates ``complexity``, ``platform_age_years`` and
        ``criticality``; services missing a covariate are left out of fit and prediction.

    Returns
    -------
    Series
        Expected count per day, by service id.
    """
    # Imported here: statsmodels takes about a second to import and only this needs it.
    import statsmodels.api as sm
    import statsmodels.formula.api as smf

    known = services.dropna(subset=COVARIATES).reset_index(drop=True)
    known = known.astype({"criticality": "int64", "complexity": float, "platform_age_years": float})
    data = counts.merge(known, on="service_id")
    model = smf.glm(FORMULA, data=data, family=sm.families.Poisson(), exposure=data["exposure"])
    fitted = model.fit()
    rates = fitted.predict(known, exposure=np.ones(len(known)))
    return pd.Series(np.asarray(rates, dtype=float), index=known["service_id"].to_numpy())
