from devtools.demo import _rounded


def test_the_demo_prints_money_to_the_cent_and_fractions_to_four_places():
    summary = {
        "campaign_attributed_revenue": 812106.2500000001,
        "cac": 12.249695652173914,
        "conversion_rate": 0.5288793103448276,
        "conversions": 1484,
        "nps": None,
    }
    assert _rounded(summary) == {
        "campaign_attributed_revenue": 812106.25,
        "cac": 12.25,
        "conversion_rate": 0.5289,
        "conversions": 1484,
        "nps": None,
    }
