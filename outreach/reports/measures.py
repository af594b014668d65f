"""What a weekly report counts and says: its measures, their labels and definitions.
One list: the JSON, the CSV, the PDF and the email all read these."""

from __future__ import annotations

from outreach.interventions.codes import TYPES_BY_CODE
from outreach.pathways.measures import COHORT_WEEKS, PATHWAY_MEASURES

TREND_WEEKS = 12
REGION = "region"  # the scope of a several-area report's totals

# Scalar measures per scope (besides interventions by type and by team).
MEASURES = {
    "interventions": "Interventions",
    "clients": "Unique clients engaged",
    "new_clients": "New clients",
    "anonymous": "Anonymous contacts",
    "referrals": "Referrals to structured treatment",
    "treatment_entries": "Treatment entries confirmed",
    "diversions": "Diversions into treatment",
    "naloxone_kits": "Naloxone kits supplied",
    "nsp_packs": "Needle and syringe packs supplied",
}
# The "Pathways" figures of a released week (outreach.reports.pathway_cells).
PATHWAY_LABELS = dict(PATHWAY_MEASURES)
COHORT_LABELS = {
    f"cohort_{n}w_{part}": (
        "Referred in week W-12 (the cohort: its referrals made)"
        if part == "referred"
        else f"Of those, entered treatment within {n} weeks"
    )
    for n in COHORT_WEEKS
    for part in ("referred", "entered")
}
# What a late-records release shows besides the additive measures.
LATE_LABELS = {
    "withdrawn": "Records withdrawn (deleted or changed after release)",
    "pathway_withdrawn": "Pathway steps withdrawn (referral or episode deleted or changed "
    "after release)",
}
# Headline measures that are the count of one intervention type.
TYPE_MEASURES = {
    "referrals": "referral_structured_treatment",
    "treatment_entries": "treatment_entry_confirmed",
    "diversions": "diversion",
}
# Measures whose regional figure is the sum of the areas' (used as constraints).
ADDITIVE = ("interventions", "anonymous", "naloxone_kits", "nsp_packs", "new_clients")

DEFINITIONS = [
    (
        "Week",
        "An ISO week: Monday 00:00 to Sunday 24:00, UK time (Europe/London), "
        "including the weeks when the clocks change.",
    ),
    ("Interventions", "Every recorded contact of one type (a visit can record several)."),
    ("Unique clients engaged", "Distinct clients with at least one intervention in the week."),
    (
        "New clients",
        "Clients whose first recorded intervention ever falls in the week, counted in the "
        "area of that first intervention.",
    ),
    ("Anonymous contacts", "Interventions recorded without identifying the client."),
    (
        "Referrals to structured treatment",
        "Referrals into a structured drug or alcohol treatment service.",
    ),
    ("Treatment entries confirmed", "Clients confirmed as having started structured treatment."),
    (
        "Diversions",
        "Diversions from police custody or an out-of-court disposal into treatment or education.",
    ),
    ("Naloxone kits", "Take-home naloxone kits handed over (sum of kits recorded)."),
    ("Needle and syringe packs", "Needle and syringe packs supplied (sum of packs recorded)."),
    (
        "Change",
        "This week's figure minus last week's; shown only when both figures are shown.",
    ),
    (
        "Release",
        "A week is released once, a set number of days after it ends (stated on the "
        "report), and its figures are never changed afterwards: every copy of it, "
        "by email or download, shows the same figures.",
    ),
    (
        "Late records",
        "Records made offline can arrive after their week was released. They are not "
        "added to released weeks; once a month they are counted in a late-records table, "
        "protected like every other figure, so no two releases can be compared to work "
        "out a small number.",
    ),
    ("Deleted records", "Records deleted by a worker or a team lead are not counted."),
    (
        "Pathways",
        "Referrals to partner teams sent, and accepted, in the week (in the referring "
        "team's area); first contacts by the receiving team in the week, and the median "
        "days from referral (shown only beside 5 or more shown first contacts); distinct "
        "people whose treatment entry fell in the week within 21 days of a referral (OHID's "
        "continuity-of-care window); diversion episodes started, or ended as completed, not "
        "completed or withdrawn, in the week. Counted once at release; pathway records "
        "arriving later are not added.",
    ),
    (
        "Referral cohorts",
        "Of the referrals sent in week W-3, W-6 and W-12, how many led to a treatment entry "
        "within 3, 6 and 12 weeks respectively: the windows that closed with this week.",
    ),
]

SUPPRESSION_NOTE = (
    "To protect the people behind the figures, any count from 1 to 4 is shown as <5. "
    "Where a total or a difference would let a reader work out a figure shown as <5, "
    "another figure is hidden too and shown as *. A change from last week is shown only "
    "when both weeks' figures are shown. Zero is shown as 0. A released week is never "
    "revised: records that arrive late are counted in a separate monthly table, so "
    "comparing releases cannot reveal a small number."
)


def cell_label(measure: str, teams: dict[int, str] | None = None) -> str:
    """The label of a published cell: a headline measure, a type or a team."""
    if measure.startswith("type:"):
        return TYPES_BY_CODE[measure[5:]].label
    if measure.startswith("team:"):
        return (teams or {}).get(int(measure[5:]), f"Team {measure[5:]}")
    return (
        MEASURES.get(measure)
        or PATHWAY_LABELS.get(measure)
        or COHORT_LABELS.get(measure)
        or LATE_LABELS.get(measure, measure)
    )
