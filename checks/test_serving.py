"""The server the image runs gives the answers the artifact gives."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mlops.harness.checks.live_server import LiveServer
from mlops.harness.model.predictor import Predictor


@pytest.mark.model
def test_served_answers_match_the_artifact(server: LiveServer, model: Predictor,
                                           test_data: pd.DataFrame) -> None:
    rows = test_data.head(32)
    served = server.predict(rows)
    assert [p["label"] for p in served] == [model.classes[i] for i in model.predict(rows)]
    served_benign = np.array([p["probabilities"]["benign"] for p in served])
    benign = model.classes.index("benign")
    np.testing.assert_allclose(served_benign, model.predict_proba(rows)[:, benign], atol=1e-6)
