"""What this team expects of each fresh batch (data.current) before it trusts the model on it."""

from __future__ import annotations

import pandas as pd
import pytest

from mlops.spec.loader import LoadedSpec

MAX_MEDIAN_SHIFT = 0.5  # in training standard deviations; the data gate's PSI looks at shape
MAX_BENIGN_SHARE_GAP = 0.1


@pytest.mark.data
def test_current_batch_shares_no_rows_with_training(current_data: pd.DataFrame,
                                                    train_data: pd.DataFrame) -> None:
    leaked = current_data.merge(train_data, how="inner")
    assert leaked.empty, f"{len(leaked)} current row(s) also appear in the training data"


@pytest.mark.data
def test_current_medians_stay_near_training(current_data: pd.DataFrame, train_data: pd.DataFrame,
                                            spec: LoadedSpec) -> None:
    features = spec.spec.data.features
    shift = ((current_data[features].median() - train_data[features].median()).abs()
             / train_data[features].std())
    assert shift.max() <= MAX_MEDIAN_SHIFT, (
        f"{shift.idxmax()} median moved {shift.max():.2f} training standard deviations")


@pytest.mark.data
def test_current_class_balance_matches_training(current_data: pd.DataFrame,
                                                train_data: pd.DataFrame, spec: LoadedSpec) -> None:
    target = spec.spec.data.target
    gap = abs(current_data[target].mean() - train_data[target].mean())
    assert gap <= MAX_BENIGN_SHARE_GAP, f"benign share differs from training by {gap:.2f}"
