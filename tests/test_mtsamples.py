"""No real mtsamples report documents IVUS as performed: every one must code to zero units."""

from __future__ import annotations

import pytest

from api.inputs import iter_documents
from tests.conftest import MTSAMPLES


@pytest.mark.skipif(
    not MTSAMPLES.exists(), reason="the shared mtsamples file is not beside the project"
)
def test_all_mtsamples_reports_code_to_zero(coder):
    documents = list(
        iter_documents([str(MTSAMPLES)], id_field="sid", text_field="transcription", unique=True)
    )
    assert len(documents) == 2377
    positives = []
    for doc in documents:
        result = coder.code(doc.text or "", document_id=doc.id)
        if "error" not in result and (result["codes"]["37252"] or result["codes"]["37253"]):
            positives.append(doc.id)
    assert positives == []
