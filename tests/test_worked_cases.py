"""RULEBOOK section 8: every worked case, as a dictated note, through the whole pipeline."""

from __future__ import annotations

import pytest

CASES = {
    "sir-qa separate iliac and femoropopliteal lesions": (
        """PROCEDURE: Right lower extremity angiography, IVUS, angioplasty.
Angiography showed a right common iliac artery stenosis and a separate right SFA stenosis.
IVUS of the right common iliac artery showed an MLA of 22 mm2. IVUS of the right SFA showed a
separate lesion with MLA 9 mm2 and 70% area reduction. Both lesions were treated with angioplasty.""",
        {"sir": (1, 1), "named-vessel": (1, 1)},
    ),
    "sir-qa common iliac lesion extending into the external iliac": (
        """PROCEDURE: Left iliac angiography, intravascular ultrasound and stenting.
IVUS demonstrated a calcified stenosis of the left common iliac artery extending into the left
external iliac artery, MLA 18 mm2. A 8 x 59 mm stent was placed.""",
        {"sir": (1, 0), "named-vessel": (1, 0)},
    ),
    "same vessel before and after intervention": (
        """Left lower extremity venogram was performed. Pre-stent IVUS of the left common iliac vein
showed 75% area reduction, MLA 48 mm2. A 16 x 100 mm Venovo stent was deployed in the left CIV.
Post-stent IVUS of the left common iliac vein showed good expansion and apposition.""",
        {"sir": (1, 0), "named-vessel": (1, 0)},
    ),
    "svs external iliac vein stenosis continuing into the common iliac vein": (
        """Venography of the left iliac system was performed. IVUS showed a stenosis of the left
external iliac vein continuing into the common iliac vein, with MLA 62 mm2 and 68% area reduction.""",
        {"sir": (1, 0), "named-vessel": (1, 0)},
    ),
    "cco dvt from popliteal vein through the ivc": (
        """Mechanical thrombectomy of the left leg was performed after venography. Intravascular
ultrasound demonstrated occlusive thrombus extending from the left popliteal vein through the IVC,
imaged as one continuous segment.""",
        {"sir": (1, 0), "named-vessel": (1, 0)},
    ),
    "forum case ivc and four iliac veins": (
        """Bilateral iliac venography was performed. IVUS measurements: IVC 230 mm2, R CIV 160 mm2,
R EIV 140 mm2, L CIV 52 mm2 (70% area reduction), L EIV 150 mm2.""",
        {"sir": (1, 4), "named-vessel": (1, 4)},
    ),
}


@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.parametrize("policy", ["sir", "named-vessel"])
def test_worked_case_codes(code, name, policy):
    text, expected = CASES[name]
    result = code(text, policy)
    assert (result["codes"]["37252"], result["codes"]["37253"]) == expected[policy]
    assert result["policy"] == policy


def test_merge_carries_its_evidence(code):
    text, _ = CASES["svs external iliac vein stenosis continuing into the common iliac vein"]
    unit = code(text)["units"][0]
    assert (
        unit["merged_by"]["text"]
        == "left\nexternal iliac vein continuing into the common iliac vein"
    )
    assert sorted(unit["vessels"]) == ["vein.common_iliac.left", "vein.external_iliac.left"]


@pytest.mark.parametrize(
    ("text", "service"),
    [
        (
            """PROCEDURE: IVC filter placement with intravascular ultrasound guidance.
IVUS of the IVC identified the renal veins; the infrarenal IVC measured 21 mm. A Denali IVC filter
was deployed below the renal veins.""",
            "ivc-filter-placement",
        ),
        (
            """PROCEDURE: IVC filter retrieval. Cavogram was performed. IVUS of the IVC showed no
thrombus in the filter and an IVC diameter of 22 mm. The filter was retrieved with a snare.""",
            "ivc-filter-retrieval",
        ),
        (
            """PROCEDURE: Intravascular foreign body retrieval. A fractured catheter fragment was seen
in the right pulmonary artery. IVUS of the right pulmonary artery localized the fragment, which was
snared. Foreign body retrieval was successful.""",
            "foreign-body-retrieval",
        ),
    ],
)
def test_bundled_services_suppress(code, text, service):
    """RULEBOOK 4 and 8: IVUS during IVC filter placement or retrieval, or foreign body retrieval."""
    result = code(text)
    assert result["codes"] == {"37252": 0, "37253": 0}
    assert service in {s["service"] for s in result["suppressed"]}


def test_coronary_ivus_only_is_excluded(code):
    result = code(
        """Left heart catheterization and coronary angiography. IVUS of the LAD showed MLA 3.1 mm2.
IVUS of the RCA showed plaque burden 60%."""
    )
    assert result["codes"] == {"37252": 0, "37253": 0}
    assert {e["text"] for e in result["excluded"] if e["reason"] == "coronary"} == {"LAD", "RCA"}
    assert all(e["see_code"] == "92978" for e in result["excluded"] if e["reason"] == "coronary")


def test_ice_for_transseptal_puncture_is_not_ivus(code):
    result = code(
        """Atrial fibrillation ablation. Intracardiac echocardiography (ICE) with an AcuNav catheter
was used to guide the transseptal puncture."""
    )
    assert result["codes"] == {"37252": 0, "37253": 0}
    ice = [e for e in result["excluded"] if e["reason"] == "not-ivus"]
    assert ice and all(e["see_code"] == "93662" for e in ice)
