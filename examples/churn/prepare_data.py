"""Write the churn example's data: a seeded synthetic subscription-churn table with strings and nulls.

Usage (from any folder)::

    python examples/churn/prepare_data.py [--out-dir examples/churn/data] [--seed 0]

Writes ``train.csv`` (3,000 rows), ``test.csv`` (1,000) and ``current.csv`` (1,000, a fresh batch
from the same distribution: the monitor's and the drift gate's "today"), plus ``feedback.csv``:
the true label of every ``current`` row keyed by the request id a client sends it under
(``current-0000`` ...), as labels arrive in production after the fact.

The columns are what a subscription business keeps, in mlops.yaml's schema order:

- ``plan`` (str: basic, standard, premium) and ``country`` (category: US, DE, FR, GB, ES),
  never null;
- ``contract`` (str: month-to-month, one-year, two-year) and ``payment_method`` (str: card,
  bank_transfer, paypal, invoice), null for about 6 % and 8 % of customers (never asked, or a
  legacy account);
- ``tenure_months`` and ``support_calls`` (int, never null: an int64 model input cannot hold one);
- ``monthly_charges`` (float, never null) and ``avg_session_minutes`` (float, null for about 10 %:
  customers who opted out of tracking);
- ``churned`` (str: "no" or "yes"), the target.

Churn is drawn from a logistic model with a clear, learnable signal: a basic plan, a
month-to-month contract, many support calls, a short tenure and high charges raise it; a long
contract, long sessions and tenure lower it; country barely matters (so per-country quality may
not differ much, the spec's group-gap rule); a missing contract or payment method or untracked
sessions raise it (missingness carries signal, as in real data). About a third of customers
churn: about half of those on the basic plan, a quarter of the others.

Nulls are written as empty CSV cells. Floats are rounded (2 decimals for money, 1 for minutes), so
their text is short and stable; '\\n' line ends keep the bytes identical across platforms.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
SEED = 0
TARGET = "churned"
SPLITS = {"train": 3000, "test": 1000, "current": 1000}
PLANS = {"basic": 1.6, "standard": 0.3, "premium": -1.0}  # value -> effect on the log-odds
PLAN_SHARES = [0.4, 0.35, 0.25]
PLAN_CHARGES = {"basic": (35.0, 8.0), "standard": (65.0, 10.0), "premium": (105.0, 15.0)}
CONTRACTS = {"month-to-month": 1.5, "one-year": -0.5, "two-year": -2.0}
CONTRACT_SHARES = [0.5, 0.3, 0.2]
PAYMENTS = {"card": -0.3, "bank_transfer": -0.5, "paypal": 0.1, "invoice": 0.8}
PAYMENT_SHARES = [0.45, 0.25, 0.2, 0.1]
COUNTRIES = {"US": 0.0, "DE": -0.1, "FR": 0.1, "GB": 0.0, "ES": 0.05}
COUNTRY_SHARES = [0.35, 0.2, 0.15, 0.15, 0.15]
NULL_SHARES = {"contract": 0.06, "payment_method": 0.08, "avg_session_minutes": 0.10}
MISSING_EFFECT = {"contract": 0.5, "payment_method": 0.9, "avg_session_minutes": 0.5}
INTERCEPT = -0.6


def draw(rng: np.random.Generator, rows: int) -> pd.DataFrame:
    """`rows` customers with their churn label, every column in schema order."""
    plan = rng.choice(list(PLANS), size=rows, p=PLAN_SHARES)
    contract = rng.choice(list(CONTRACTS), size=rows, p=CONTRACT_SHARES).astype(object)
    payment = rng.choice(list(PAYMENTS), size=rows, p=PAYMENT_SHARES).astype(object)
    country = rng.choice(list(COUNTRIES), size=rows, p=COUNTRY_SHARES)
    tenure = np.clip(np.round(rng.gamma(2.0, 12.0, size=rows)), 0, 120).astype(np.int64)
    calls = rng.poisson(np.where(plan == "basic", 2.2, 1.2)).clip(0, 30).astype(np.int64)
    centre = np.array([PLAN_CHARGES[p][0] for p in plan])
    spread = np.array([PLAN_CHARGES[p][1] for p in plan])
    charges = np.round(np.clip(rng.normal(centre, spread), 5.0, 300.0), 2)
    sessions = np.round(np.clip(rng.gamma(3.0, 8.0, size=rows), 0.0, 600.0), 1)

    # Missing values: drawn independently of everything else; a missing cell has its own effect.
    missing = {name: rng.random(rows) < share for name, share in NULL_SHARES.items()}
    contract[missing["contract"]] = None
    payment[missing["payment_method"]] = None
    session_values = np.where(missing["avg_session_minutes"], np.nan, sessions)

    logit = (
        INTERCEPT
        + np.array([PLANS[p] for p in plan])
        + np.array([MISSING_EFFECT["contract"] if c is None else CONTRACTS[c] for c in contract])
        + np.array([MISSING_EFFECT["payment_method"] if p is None else PAYMENTS[p] for p in payment])
        + np.array([COUNTRIES[c] for c in country])
        - 0.06 * tenure
        + 0.55 * (calls - 1.5)
        + 0.02 * (charges - 65.0)
        + np.where(
            missing["avg_session_minutes"], MISSING_EFFECT["avg_session_minutes"], -0.06 * (sessions - 24.0)
        )
    )
    churned = rng.random(rows) < 1.0 / (1.0 + np.exp(-logit))

    return pd.DataFrame(
        {
            "plan": plan,
            "contract": contract,
            "payment_method": payment,
            "country": country,
            "tenure_months": tenure,
            "support_calls": calls,
            "monthly_charges": charges,
            "avg_session_minutes": session_values,
            TARGET: np.where(churned, "yes", "no"),
        }
    )


def make_splits(seed: int = SEED) -> dict[str, pd.DataFrame]:
    """train, test and current: consecutive draws from one seeded generator (one distribution)."""
    rng = np.random.default_rng(seed)
    return {name: draw(rng, rows) for name, rows in SPLITS.items()}


def feedback(current: pd.DataFrame) -> pd.DataFrame:
    """The labels of `current`, keyed by the request id each row is served under (one row each)."""
    return pd.DataFrame(
        {"request_id": [f"current-{i:04d}" for i in range(len(current))], "label": current[TARGET]}
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--out-dir",
        type=Path,
        default=HERE / "data",
        help="folder for train.csv, test.csv, current.csv, feedback.csv (default: examples/churn/data)",
    )
    parser.add_argument("--seed", type=int, default=SEED, help=f"generator seed (default: {SEED})")
    args = parser.parse_args(argv)

    splits = make_splits(args.seed)
    args.out_dir.mkdir(parents=True, exist_ok=True)
    for name, part in splits.items():
        part.to_csv(args.out_dir / f"{name}.csv", index=False, lineterminator="\n")
        rate = (part[TARGET] == "yes").mean()
        basic = (part.loc[part["plan"] == "basic", TARGET] == "yes").mean()
        print(
            f"{args.out_dir / (name + '.csv')}: {len(part)} rows, churn {rate:.1%} "
            f"(basic plan {basic:.1%}), null cells {int(part.isna().sum().sum())}"
        )
    feedback(splits["current"]).to_csv(args.out_dir / "feedback.csv", index=False, lineterminator="\n")
    print(f"{args.out_dir / 'feedback.csv'}: labels of current.csv as request ids current-NNNN")
    return 0


if __name__ == "__main__":
    sys.exit(main())
