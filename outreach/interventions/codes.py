"""The one list of intervention types, locations and substances (DESIGN §8).

The PWA, the API and the reports read these; extend with care and never reuse a code.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from outreach.people.models import SEXES


@dataclass(frozen=True)
class InterventionType:
    code: str
    label: str
    quantity_label: str | None = None  # set when the type counts items (kits, packs)
    quantity_max: int = 0
    referral: bool = False  # referral_to is expected
    outcome_choices: tuple[str, ...] = ()
    description: str = ""

    def as_dict(self) -> dict:
        data = asdict(self)
        data["outcome_choices"] = list(self.outcome_choices)
        return data


BBV_OUTCOMES = (
    "hcv_negative",
    "hcv_positive",
    "hiv_negative",
    "hiv_positive",
    "hbv_negative",
    "hbv_positive",
    "declined",
    "result_pending",
)

INTERVENTION_TYPES: tuple[InterventionType, ...] = (
    InterventionType(
        "naloxone_supplied",
        "Naloxone supplied",
        "Kits",
        20,
        description="Take-home naloxone kits handed over.",
    ),
    InterventionType(
        "needle_syringe_provision",
        "Needle and syringe provision",
        "Packs",
        100,
        description="Needle and syringe packs supplied.",
    ),
    InterventionType("harm_reduction_advice", "Harm-reduction advice"),
    InterventionType(
        "bbv_test",
        "Blood-borne virus test",
        outcome_choices=BBV_OUTCOMES,
        description="Test for hepatitis C, HIV or hepatitis B, with its result.",
    ),
    InterventionType("hbv_vaccination", "Hepatitis B vaccination"),
    InterventionType("wound_care", "Wound care"),
    InterventionType("overdose_response", "Overdose response"),
    InterventionType("brief_intervention", "Brief intervention"),
    InterventionType(
        "referral_structured_treatment",
        "Referral to structured treatment",
        referral=True,
        description="Referral into a structured drug or alcohol treatment service.",
    ),
    InterventionType(
        "referral_other",
        "Referral to other services",
        referral=True,
        description="Referral to housing, mental health, GP or other services.",
    ),
    InterventionType(
        "diversion",
        "Diversion into treatment",
        referral=True,
        description="Diverted from police custody or an out-of-court disposal "
        "into treatment or education.",
    ),
    InterventionType(
        "treatment_entry_confirmed",
        "Treatment entry confirmed",
        description="The client has started structured treatment.",
    ),
)

TYPES_BY_CODE = {t.code: t for t in INTERVENTION_TYPES}
TYPE_CODES = tuple(TYPES_BY_CODE)

LOCATIONS = {
    "street": "Street",
    "hostel": "Hostel",
    "custody": "Custody suite",
    "hospital": "Hospital",
    "outreach_van": "Outreach van",
    "home_visit": "Home visit",
    "other": "Other",
}

SUBSTANCES = {
    "opioids": "Opioids",
    "crack": "Crack cocaine",
    "cocaine": "Cocaine",
    "cannabis": "Cannabis",
    "alcohol": "Alcohol",
    "benzodiazepines": "Benzodiazepines",
    "spice": "Spice (synthetic cannabinoids)",
    "ketamine": "Ketamine",
    "amphetamines": "Amphetamines",
    "other": "Other",
}


def reference_data() -> dict:
    """Code lists as the PWA and API clients receive them."""
    return {
        "intervention_types": [t.as_dict() for t in INTERVENTION_TYPES],
        "locations": [{"code": k, "label": v} for k, v in LOCATIONS.items()],
        "substances": [{"code": k, "label": v} for k, v in SUBSTANCES.items()],
        "sexes": [{"code": k, "label": v} for k, v in SEXES.items()],
    }
