"""What a report page cites: the methods its notebook uses and the data its run read.

:data:`METHODS` holds one full reference per method key; :data:`NOTEBOOK_METHODS`
says which methods each report notebook uses (a notebook not listed cites no
method). The data sources come from the run's manifest ``inputs`` (files relative
to the data folder), looked up by file name in the dataset registry
(:mod:`research.datasets`), which holds each dataset's publisher, vintage, licence and
citation (the same text as ``data/SOURCES.md``).
"""

from __future__ import annotations

from dataclasses import dataclass

from research.datasets import registry
from research.provenance import USER_FILES_INPUT

# sha256 of nothing: the manifest's $RESEARCH_USER_DIR when the user has no files
NO_USER_FILES = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


@dataclass(frozen=True)
class Reference:
    """A method's citation: what it is used for and the full reference."""

    method: str
    citation: str


METHODS: dict[str, Reference] = {
    "ppml": Reference(
        "Poisson pseudo-maximum likelihood (PPML)",
        "Santos Silva, J. M. C. and Tenreyro, S. (2006). The log of gravity. Review of "
        "Economics and Statistics, 88(4), 641–658."),
    "hdfe": Reference(
        "PPML with high-dimensional fixed effects",
        "Correia, S., Guimarães, P. and Zylkin, T. (2020). Fast Poisson estimation with "
        "high-dimensional fixed effects. Stata Journal, 20(1), 95–115."),
    "event_study": Reference(
        "Event-study design and plots",
        "Freyaldenhoven, S., Hansen, C., Pérez Pérez, J. and Shapiro, J. M. (2021). "
        "Visualization, identification, and estimation in the linear panel event-study "
        "design. NBER Working Paper 29170."),
    "callaway_santanna": Reference(
        "Staggered difference-in-differences",
        "Callaway, B. and Sant'Anna, P. H. C. (2021). Difference-in-differences with "
        "multiple time periods. Journal of Econometrics, 225(2), 200–230."),
    "synthetic_control": Reference(
        "Synthetic control and placebos in space",
        "Abadie, A., Diamond, A. and Hainmueller, J. (2010). Synthetic control methods for "
        "comparative case studies: estimating the effect of California's tobacco control "
        "program. Journal of the American Statistical Association, 105(490), 493–505."),
    "wild_bootstrap": Reference(
        "Wild cluster bootstrap",
        "Cameron, A. C., Gelbach, J. B. and Miller, D. L. (2008). Bootstrap-based "
        "improvements for inference with clustered errors. Review of Economics and "
        "Statistics, 90(3), 414–427."),
    "wild_bootstrap_few_treated": Reference(
        "Wild cluster bootstrap with few or unequal clusters",
        "MacKinnon, J. G. and Webb, M. D. (2017). Wild bootstrap inference for wildly "
        "different cluster sizes. Journal of Applied Econometrics, 32(2), 233–254."),
    "cluster_jackknife": Reference(
        "Cluster jackknife (CV3) variance with few clusters",
        "MacKinnon, J. G., Nielsen, M. Ø. and Webb, M. D. (2023). Cluster-robust "
        "inference: a guide to empirical practice. Journal of Econometrics, 232(2), "
        "272–299."),
    "rambachan_roth": Reference(
        "Sensitivity to violations of parallel trends",
        "Rambachan, A. and Roth, J. (2023). A more credible approach to parallel trends. "
        "Review of Economic Studies, 90(5), 2555–2591."),
    "ferman_pinto": Reference(
        "Inference with few treated groups",
        "Ferman, B. and Pinto, C. (2019). Inference in differences-in-differences with few "
        "treated groups and heteroskedasticity. Review of Economics and Statistics, "
        "101(3), 452–467."),
    "effective_df": Reference(
        "Effective degrees of freedom with unequal clusters",
        "Imbens, G. W. and Kolesár, M. (2016). Robust standard errors in small samples: "
        "some practical advice. Review of Economics and Statistics, 98(4), 701–712. "
        "Carter, A. V., Schnepel, K. T. and Steigerwald, D. G. (2017). Asymptotic behavior "
        "of a t-test robust to cluster heterogeneity. Review of Economics and Statistics, "
        "99(4), 698–709."),
    "hotelling": Reference(
        "Small-sample cluster-robust Wald tests",
        "Pustejovsky, J. E. and Tipton, E. (2018). Small-sample methods for cluster-robust "
        "variance estimation and hypothesis testing in fixed effects models. Journal of "
        "Business & Economic Statistics, 36(4), 672–683."),
    "sarima": Reference(
        "Seasonal ARIMA projection and intervention analysis",
        "Box, G. E. P., Jenkins, G. M., Reinsel, G. C. and Ljung, G. M. (2015). Time "
        "Series Analysis: Forecasting and Control, 5th edition. Hoboken, NJ: Wiley."),
}

# notebook file (in the notebooks folder) -> the method keys its report cites
NOTEBOOK_METHODS: dict[str, tuple[str, ...]] = {
    "ban_impact.ipynb": ("ppml", "hdfe", "event_study", "cluster_jackknife", "effective_df",
                         "wild_bootstrap", "wild_bootstrap_few_treated", "ferman_pinto",
                         "rambachan_roth", "hotelling", "synthetic_control", "sarima"),
    "gravity.ipynb": ("ppml", "hdfe"),
    "scenario.ipynb": ("sarima", "ppml", "hdfe", "event_study", "cluster_jackknife",
                       "effective_df", "rambachan_roth"),
    "defense_spending.ipynb": (),
    "trade_overview.ipynb": (),
    "japan_exposure.ipynb": (),
}


def method_references(notebook: str) -> list[Reference]:
    """The references of the methods that ``notebook`` uses (none when not listed).

    Examples
    --------
    >>> [r.citation.split(",")[0] for r in method_references("gravity.ipynb")]
    ['Santos Silva', 'Correia']
    """
    return [METHODS[key] for key in NOTEBOOK_METHODS.get(notebook, ())]


@dataclass(frozen=True)
class DataSource:
    """A dataset a run read, as the registry describes it (``file`` relative to the data
    folder; the other fields empty for a file the registry does not know)."""

    file: str
    name: str = ""
    title: str = ""
    publisher: str = ""
    vintage: str = ""
    licence: str = ""
    citation: str = ""


def data_sources(inputs: dict[str, str] | list[str]) -> list[DataSource]:
    """The registry's description of each input file of a run, in file order.

    ``inputs`` is the manifest's ``inputs`` (file -> sha256). The user's own events
    and baskets (``$RESEARCH_USER_DIR``) are described as such, unless their hash is
    that of no files (:data:`NO_USER_FILES`); a file the registry
    does not know keeps only its name.
    """
    by_file = {d.filename: d for d in registry().values()}
    found = []
    for file in sorted(inputs):
        if file == USER_FILES_INPUT:
            if isinstance(inputs, dict) and inputs[file] == NO_USER_FILES:
                continue  # no user folder, or one without files: nothing of the user's
            found.append(DataSource(file=file, name="user rows",
                                    title="The user's own events and baskets",
                                    publisher="the user (RESEARCH_USER_DIR)",
                                    vintage="as read by this run"))
            continue
        dataset = by_file.get(file)
        if dataset is None:
            found.append(DataSource(file=file))
            continue
        found.append(DataSource(file=file, name=dataset.name, title=dataset.title,
                                publisher=dataset.publisher, vintage=dataset.vintage,
                                licence=dataset.licence, citation=dataset.citation))
    return found
