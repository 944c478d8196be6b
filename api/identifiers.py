"""Every URI the service writes into its answers, in one place.

CPT's system URI is the one FHIR terminology names for CPT; the ``urn:ivus-coder:`` names are
this project's own (vessel table, review flags, error codes, policies, problem types). They are
stable identifiers, not addresses: change them here only together with a major version.
"""

from __future__ import annotations

CPT_SYSTEM = "http://www.ama-assn.org/go/cpt"
HL7_CPT_CODING_SYSTEM = "C4"  # HL7 v2 table 0396: CPT-4

OWN = "urn:ivus-coder"
VESSEL_SYSTEM = f"{OWN}:vessel"
FLAG_SYSTEM = f"{OWN}:review-flag"
ERROR_SYSTEM = f"{OWN}:error"
POLICY_PREFIX = f"{OWN}:policy:"
PROBLEM_PREFIX = f"{OWN}:problem:"
DEVICE_NAME = "IVUS Coder"

# Our own short wording of what each code is for (not the CPT descriptor text).
CPT_DISPLAY = {
    "37252": "Intravascular ultrasound, noncoronary vessel, initial vessel (add-on)",
    "37253": "Intravascular ultrasound, noncoronary vessel, each additional vessel (add-on)",
}
