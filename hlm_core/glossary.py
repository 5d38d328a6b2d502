"""Plain-language explanations for workshop mode and hover help (no streamlit here).

`TOPICS` holds the short notes a page shows in workshop mode (topic -> a few sentences of
Markdown); `TERMS` the hover help for every statistical term the dashboard uses (term -> one or
two sentences). Both are written for teachers and school leaders meeting multilevel models for
the first time: no formulas, an example from school data where it helps, and what the number
means for a decision.

Look terms up with `term_help`, which forgives case, spaces, hyphens and "R2" for "R²".
"""

from __future__ import annotations

import re

__all__ = ["TERMS", "TOPICS", "normalise", "term_help", "topic_text"]

TOPICS: dict[str, str] = {
    "data": (
        "**Multilevel data** have one row per student (or other unit) and a column saying which "
        "group each row belongs to: a class, a school. Students in the same class share a "
        "teacher and a room, so their results are not independent: a multilevel model takes "
        "that into account instead of treating 500 students as 500 unrelated cases."
    ),
    "levels": (
        "**Levels**: students (level 1) sit in classes (level 2), which may sit in schools "
        "(level 3). *Nested* means each class belongs to one school; *crossed* means, for "
        "example, that students from one primary school go to several secondary schools. Choose "
        "the smallest group first."
    ),
    "example_data": (
        "**Example data sets** let you try everything without your own file. Each comes with a "
        "short guided tour: follow the steps shown on each page while workshop mode is on."
    ),
    "model": (
        "**Building a model**: the *outcome* is what you want to explain (a test score); "
        "*predictors* are what might explain it (preparation, poverty); the *grouping variable* "
        "says which class each student is in. The model estimates one overall effect per "
        "predictor (fixed effects) and how much classes differ around it (random effects)."
    ),
    "random_effect": (
        "**A random effect** is how much one group differs from the average. Instead of "
        "estimating every class separately, the model treats classes as a sample from many "
        "possible classes and estimates how much they vary (a standard deviation), then gives "
        "each class its own best guess within that spread."
    ),
    "random_slope": (
        "**A random slope** lets the effect of a predictor differ from group to group: one more "
        "day of exam preparation may help a lot in one class and little in another. Without it, "
        "the model assumes the same effect everywhere, and only the level (the intercept) "
        "differs between classes."
    ),
    "icc": (
        "**The ICC** (intraclass correlation) says how much of the differences between students "
        "lies *between* groups. An ICC of 0.20 means 20% of the variation in scores is about "
        "which class a student is in, 80% about differences among students in the same class. "
        "Even an ICC of 0.05 matters: ignoring it makes ordinary regression too confident."
    ),
    "fixed_effects": (
        "**Fixed effects** are the overall relationships: how much the outcome changes, on "
        "average over all groups, with one unit more of a predictor. The 95% interval shows the "
        "range of values the data are compatible with; if it does not include 0, the effect is "
        "clearly there (p < 0.05)."
    ),
    "variance_components": (
        "**Variance components** say how much groups differ (the SD of the group effects) and "
        "how much students differ within a group (the residual SD). About 95% of groups lie "
        "within two SDs of the average."
    ),
    "model_fit": (
        "**Model fit**: the log-likelihood, AIC and BIC are only useful for *comparing* models "
        "fitted to the same rows; lower AIC/BIC is better. On their own they say nothing about "
        "whether a model is good."
    ),
    "interval_width": (
        "**Why intervals differ by class size**: the model knows less about a class of 8 "
        "students than about a class of 30, so its interval is wider. A wide interval that "
        "crosses the average line means: we cannot tell whether this class differs from the "
        "average — not that it is average."
    ),
    "shrinkage": (
        "**Shrinkage**: each group's estimate is pulled towards the overall average, more for "
        "small groups and groups with noisy data. A class of 5 students with a very high mean "
        "is likely partly lucky; the model gives it a more modest estimate. This makes "
        "rankings fairer to small classes."
    ),
    "caterpillar": (
        "**Reading the caterpillar plot**: one dot per group, sorted from lowest to highest, "
        "with a line showing its 95% interval. The dashed line is the average. Groups whose "
        "interval lies entirely above or below the line are coloured: only for those can we "
        "say they differ from the average. Overlapping intervals mean two groups cannot be "
        "told apart — do not rank them."
    ),
    "slopes": (
        "**Reading the slopes**: the left chart shows each group's line as the model estimates "
        "it; the right chart a line fitted to each group's own data only. The model's lines "
        "are closer together: shrinkage at work. If the left lines are parallel, the model has "
        "no random slope for this predictor."
    ),
    "centring": (
        "**Centring** subtracts a mean from a predictor so that 0 means 'average'. Grand-mean "
        "centring makes the intercept the score of an average student; group-mean centring "
        "splits a predictor into a within-class part and the class mean (the contextual "
        "effect)."
    ),
    "comparison": (
        "**Comparing models**: each step up the ladder adds something (predictors, a random "
        "slope). The likelihood-ratio test asks whether the addition improves the fit more "
        "than chance would; lower AIC/BIC points the same way. Models are refitted by ML for "
        "the comparison."
    ),
    "diagnostics": (
        "**Diagnostics** check the model's assumptions: residuals should scatter evenly around "
        "zero, and points in a Q-Q plot should lie near the line. One group that changes the "
        "results a lot when left out deserves a closer look."
    ),
    "reliability": (
        "**Reliability** says how much a group's estimate reflects real differences rather than "
        "chance: near 1 for large groups, low for small ones. Rankings of groups with low "
        "reliability should not be used to judge teachers."
    ),
    "report": (
        "**The write-up** states the model twice: as level equations (one per level, as in the "
        "HLM textbook) and as one mixed formula (as R's lme4 writes it). They are the same "
        "model. The APA paragraph and table can be pasted into a report; the code reruns the "
        "analysis in R or Python without this dashboard."
    ),
    "export": (
        "**Exports**: the Excel workbook has every table (cells that start with =, +, - or @ are "
        "made plain text, so no spreadsheet runs them); the HTML report is one file that opens "
        "without internet; figures download as PNG (for slides) or SVG (for print)."
    ),
    "planning": (
        "**Planning a study**: power is the chance that a study finds the effect if it is real. "
        "With whole classes or schools assigned, the number of clusters matters far more than "
        "the pupils in each, and the more the outcome differs between clusters (the ICC), the "
        "more clusters are needed. Covariates such as a pre-test (R²) reduce the number needed."
    ),
    "yes_no_outcomes": (
        "**Yes/no and count outcomes**: for pass/fail the model describes the *odds* of passing "
        "(the chance of passing divided by the chance of failing: 75% is odds of 3). Effects "
        "are *odds ratios*: 1.8 means 1.8 times the odds, 1 means no difference. The model "
        "works on the *logit* (log of the odds) scale, where effects add up; the tables also "
        "show them multiplied out. For counts (days absent) effects are *rate ratios*: 0.8 "
        "means 20% fewer. The *latent-scale ICC* imagines an unseen score behind pass/fail and "
        "asks how much of its variation lies between classes."
    ),
}

TERMS: dict[str, str] = {
    "ICC": (
        "Intraclass correlation: the share of the variation in the outcome that lies between "
        "groups (0 = groups don't differ, 1 = all differences are between groups)."
    ),
    "REML": (
        "Restricted maximum likelihood: the default way to estimate the model. It gives less "
        "biased variance estimates than ML, especially with few groups."
    ),
    "ML": (
        "Maximum likelihood: needed when comparing models with different predictors by a "
        "likelihood-ratio test (REML likelihoods of such models are not comparable)."
    ),
    "Satterthwaite df": (
        "Degrees of freedom for the t tests of the fixed effects, approximated as lmerTest does. "
        "Close to the number of groups for class-level predictors, larger for student-level ones."
    ),
    "random intercept": (
        "Each group gets its own level (average outcome), spread around the overall average "
        "with an estimated SD."
    ),
    "random slope": (
        "The effect of a predictor may differ from group to group; the model estimates how much "
        "(an SD) and each group's own slope."
    ),
    "fixed effect": (
        "An overall effect, the same for all groups: how much the outcome changes on average with "
        "one unit more of the predictor."
    ),
    "random effect": (
        "How much one group differs from the overall effect; the model estimates the spread of "
        "these differences and each group's value."
    ),
    "BLUP": (
        "Best linear unbiased prediction: the model's estimate of one group's random effect "
        "(lme4's ranef), pulled towards 0 for small or noisy groups."
    ),
    "conditional SD": (
        "The uncertainty of one group's estimated effect (lme4's condVar). Wider for small "
        "groups; the 95% interval is the estimate ± 1.96 conditional SDs."
    ),
    "shrinkage": (
        "Group estimates are pulled towards the overall average, more strongly for small groups, "
        "so that a small group with an extreme mean is not taken at face value."
    ),
    "reliability": (
        "How much of the variation of a group's mean is real between-group difference rather "
        "than noise (HLM's λ): n·τ² / (n·τ² + σ²). Near 1 for large groups."
    ),
    "deviance": (
        "−2 × log-likelihood (for REML fits: the REML criterion). Lower is better, but only when "
        "comparing models fitted to the same rows."
    ),
    "log-likelihood": (
        "How probable the data are under the fitted model. Higher is better; compare only models "
        "fitted to the same rows."
    ),
    "AIC": (
        "Akaike information criterion: deviance + 2 × number of parameters. Lower is better when "
        "comparing models fitted to the same rows."
    ),
    "BIC": (
        "Bayesian information criterion: like AIC with a stronger penalty for parameters "
        "(log of the number of rows each). Lower is better."
    ),
    "R² marginal": (
        "Share of the variation in the outcome explained by the predictors alone (Nakagawa & "
        "Schielzeth)."
    ),
    "R² conditional": (
        "Share of the variation explained by the predictors and the differences between groups "
        "together (Nakagawa & Schielzeth)."
    ),
    "singular fit": (
        "A variance or correlation was estimated at its boundary (0, or ±1): the data can't "
        "support that part of the model. Try a simpler random-effects structure."
    ),
    "design effect": (
        "How much the clustering inflates the variance of a mean compared with a simple random "
        "sample: 1 + (average group size − 1) × ICC. Above about 2, ignoring groups misleads."
    ),
    "centring": (
        "Subtracting a mean from a predictor, so that 0 means average: grand-mean (over all rows) "
        "or group-mean (within each group, with the group mean added as a predictor)."
    ),
    "grand-mean centring": (
        "The predictor minus its overall mean: the intercept becomes the outcome of an average "
        "student; slopes don't change."
    ),
    "group-mean centring": (
        "The predictor minus its group's mean (the within-group part), with the group mean added "
        "as its own predictor (the between-group or contextual part)."
    ),
    "contextual effect": (
        "The effect of a group's mean of a predictor over and above the students' own values, "
        "e.g. of a school's average SES beyond each student's SES."
    ),
    "variance component": (
        "The estimated variance (or SD) of a random effect or of the residual: how much groups, "
        "or students within groups, differ."
    ),
    "residual": (
        "What the model does not explain for one row: the observed value minus the model's "
        "prediction for that student in that group."
    ),
    "confidence interval": (
        "The range of values compatible with the data at 95% confidence, here with Satterthwaite "
        "df for the fixed effects."
    ),
    "p value": (
        "How surprising an estimate this far from 0 would be if the true effect were 0. Below "
        "0.05 is conventionally called clear evidence."
    ),
    "standard error": "The uncertainty of an estimate: about a third of the 95% interval's width.",
    "likelihood-ratio test": (
        "Compares two nested models fitted by ML: twice the difference in log-likelihood, "
        "referred to a chi-square distribution."
    ),
    "cross-level interaction": (
        "A student-level predictor × a group-level predictor: whether the effect of, say, SES "
        "depends on the school's sector."
    ),
    "caterpillar plot": (
        "Each group's estimate with its 95% interval, sorted from lowest to highest, with the "
        "average as a dashed line."
    ),
    "level-1": "The lowest level of the data: usually students (one row each).",
    "level-2": "The groups the rows belong to: usually classes or schools.",
    "nested": "Each group at one level lies within a single group at the next: classes in schools.",
    "crossed": (
        "Groups that are not nested: e.g. students from one primary school attend several "
        "secondary schools."
    ),
    "odds": (
        "The chance something happens divided by the chance it doesn't: a 75% chance of passing "
        "is odds of 3 (3 passes for every fail); 50% is odds of 1."
    ),
    "odds ratio": (
        "How many times the odds multiply: 1.8 means pupils in small classes have 1.8 times the "
        "odds of passing; 1 means no difference; 0.5 means half the odds."
    ),
    "rate ratio": (
        "For counts: how many times the expected count multiplies. 0.8 means 20% fewer "
        "absences; 1 means no difference."
    ),
    "logit": (
        "The log of the odds, the scale on which a yes/no model adds up its effects. 0 is a "
        "50% chance; +1 multiplies the odds by about 2.7."
    ),
    "latent-scale ICC": (
        "For pass/fail: the share of the variation in an unseen score behind passing that lies "
        "between groups, with the pupil-level part fixed at 3.29 (pi squared over 3, the "
        "logistic curve's variance). For counts the pupil-level part is approximated from the "
        "average count."
    ),
    "Wald z": (
        "A yes/no or count model's test of an effect: the estimate divided by its standard "
        "error, compared with the normal curve (no degrees of freedom)."
    ),
}


def normalise(term: str) -> str:
    """A lookup key: lower case, R2 -> r², hyphens/underscores as spaces, single spaces."""
    t = str(term).strip().lower().replace("r^2", "r²").replace("r2", "r²")
    t = re.sub(r"[-_\s]+", " ", t)
    t = t.replace("centering", "centring").replace("centered", "centred")
    return t


_BY_KEY = {normalise(k): v for k, v in TERMS.items()}
_ALIASES = {
    "intraclass correlation": "icc",
    "satterthwaite": "satterthwaite df",
    "df": "satterthwaite df",
    "conditional sd": "conditional sd",
    "cond sd": "conditional sd",
    "r² marg": "r² marginal",
    "marginal r²": "r² marginal",
    "conditional r²": "r² conditional",
    "singular": "singular fit",
    "blups": "blup",
    "ranef": "blup",
    "lrt": "likelihood ratio test",
    "se": "standard error",
    "std. error": "standard error",
    "ci": "confidence interval",
    "p": "p value",
    "deff": "design effect",
    "reml criterion": "deviance",
    "group mean centring": "group mean centring",
    "grand mean centring": "grand mean centring",
}


def term_help(term: str) -> str:
    """The hover text for a statistical term (KeyError naming it if there is none)."""
    key = normalise(term)
    key = _ALIASES.get(key, key)
    if key in _BY_KEY:
        return _BY_KEY[key]
    raise KeyError(f"No glossary entry for {term!r}.")


def topic_text(topic: str) -> str:
    """The workshop note for `topic` (KeyError naming it if there is none)."""
    if topic not in TOPICS:
        raise KeyError(f"No workshop note for {topic!r}.")
    return TOPICS[topic]
