"""The offline generator's words: per campaign type and audience, what the email is about, what
the reader gains and what it asks them to do; per approach, subject, preheader and opening
templates.

Templates name their slots in braces. Context slots (``{venue}``, ``{region}``, ``{season}``,
``{countdown}``, ``{sender}``, ``{offer}``, ``{milestone}``, ``{kind}``) are filled from the
request, and a template whose slot has no value is not used, so missing context never shows.
Word slots (``{topic}``, ``{thing}``, ``{gain}``, ``{act}``, ``{crowd}``) come from the bank below.
``{first_name|Hello}`` is a personalisation field with the words a contact without that value
reads; it becomes ``{{ first_name|default("Hello") }}`` for the delivery templates.

No template states a number it cannot know (no "300 couples loved it"): social proof names who
does something, never how many.
"""

from __future__ import annotations

from dataclasses import dataclass

APPROACHES = ("benefit", "urgency", "curiosity", "social_proof", "personal")
APPROACH_LABELS = {
    "benefit": "Benefit",
    "urgency": "Urgency",
    "curiosity": "Curiosity",
    "social_proof": "Social proof",
    "personal": "Personal",
}


@dataclass(frozen=True, slots=True)
class Words:
    topic: str  # what the email is about ("your wedding plans")
    thing: str  # what it offers ("a planning checklist")
    gain: str  # what the reader gets ("a calmer run-up to the day")
    act: str  # what it asks ("book a visit"), a verb phrase
    proof: str  # what others do ("start with a visit"), a verb phrase for "crowd"


BANK: dict[tuple[str, str], Words] = {
    ("nurture", "couples"): Words(
        "your wedding plans",
        "a planning checklist",
        "a calmer run-up to the day",
        "book a visit",
        "start with a visit",
    ),
    ("nurture", "suppliers"): Words(
        "your next season",
        "our supplier guide",
        "more enquiries from engaged couples",
        "complete your profile",
        "keep profiles fresh",
    ),
    ("viral_referral", "couples"): Words(
        "friends who are engaged",
        "a thank-you for every referral",
        "a treat for you and your friends",
        "invite an engaged friend",
        "share the love",
    ),
    ("viral_referral", "suppliers"): Words(
        "the suppliers you trust",
        "referral rewards",
        "more bookings through people you know",
        "invite a supplier you rate",
        "grow through referrals",
    ),
    ("super_connector", "couples"): Words(
        "your recommendations",
        "a thank-you for your introductions",
        "rewards for every couple you introduce",
        "see your referral rewards",
        "pass on a good word",
    ),
    ("super_connector", "suppliers"): Words(
        "your network",
        "connector perks",
        "priority listing for your introductions",
        "see your connector perks",
        "introduce each other",
    ),
    ("churn_prevention", "couples"): Words(
        "your plans with us",
        "a quick check-in",
        "help where you need it",
        "tell us what would help",
        "ask us early",
    ),
    ("churn_prevention", "suppliers"): Words(
        "your listing",
        "a profile review on us",
        "more enquiries this season",
        "book a profile review",
        "refresh listings early",
    ),
    ("milestone", "couples"): Words(
        "your milestone",
        "a small gift from us",
        "something to mark the moment",
        "open your gift",
        "celebrate each step",
    ),
    ("milestone", "suppliers"): Words(
        "your milestone with us",
        "a thank-you",
        "a spotlight on your work",
        "see your spotlight",
        "share their milestones",
    ),
    ("win_back", "couples"): Words(
        "your wedding plans",
        "what's new since your last visit",
        "fresh ideas for the day",
        "take another look",
        "come back for a second look",
    ),
    ("win_back", "suppliers"): Words(
        "engaged couples near you",
        "new enquiries waiting",
        "couples searching in your area",
        "reactivate your listing",
        "come back early",
    ),
    ("premium", "couples"): Words(
        "the day you're planning",
        "our premium planning service",
        "one planner for every detail",
        "meet your planner",
        "hand over the details",
    ),
    ("premium", "suppliers"): Words(
        "your business",
        "a Premium listing",
        "top placement with engaged couples",
        "try Premium",
        "upgrade early",
    ),
}

MILESTONE_PHRASES = {
    "booked": "your booking",
    "six_months": "the six-month mark",
    "one_month": "the final month",
    "one_week": "the final week",
    "married": "your wedding",
    "anniversary": "your first anniversary",
}


@dataclass(frozen=True, slots=True)
class Template:
    text: str
    tones: tuple[str, ...] = ()  # empty: every tone
    types: tuple[str, ...] = ()  # empty: every campaign type
    audience: str | None = None  # None: both
    bands: tuple[str, ...] = ()  # health bands it fits (churn prevention); empty: any


T = Template
SUBJECTS: dict[str, tuple[Template, ...]] = {
    "benefit": (
        T("{gain_cap} for your {season} wedding", audience="couples"),
        T("{gain_cap} at {venue}", audience="couples"),
        T("{thing_cap}: {gain}"),
        T("{gain_cap}, with {thing}"),
        T("{gain_cap} in {region}", audience="suppliers"),
        T("Get {gain}", tones=("professional",)),
        T("{gain_cap}"),
        T("Here's to {gain}", tones=("playful", "warm")),
        T("{offer_cap} on {thing}", types=("premium", "win_back", "churn_prevention")),
        T("Something to mark {milestone}", types=("milestone",)),
    ),
    "urgency": (
        T("{countdown_cap}: time to {act}", audience="couples"),
        T("{countdown_cap} — {act} this week", audience="couples"),
        T("Before {season} dates fill up: {act}"),
        T("{offer_cap} ends soon: {act}"),
        T("This week only: {act}", tones=("playful", "warm")),
        T("A good week to {act}", tones=("professional", "warm")),
        T("Last call to {act}", tones=("playful",)),
        T("Don't miss out: {act}", tones=("playful",)),
        T("Dates at {venue} are going: {act}", audience="couples"),
        T(
            "Your listing needs attention this week",
            types=("churn_prevention",),
            audience="suppliers",
            bands=("critical",),
        ),
        T("{milestone_cap}: time to {act}", types=("milestone",)),
        T("Time to {act}"),
    ),
    "curiosity": (
        T("What couples wish they'd known about {topic}", audience="couples"),
        T("What {crowd} in {region} do first"),
        T("Have you seen what's new at {venue}?", audience="couples"),
        T("A surprise for {milestone} inside", types=("milestone",)),
        T("What {crowd} ask about {topic}", audience="suppliers"),
        T("The one thing to do before a {season} wedding", audience="couples"),
        T("Is {topic} missing something?"),
        T("A question about {topic}"),
        T("Have you seen this yet?"),
        T("Guess what we found for {topic}", tones=("playful",)),
        T("How is {topic} going?", types=("churn_prevention",), bands=("at_risk", "healthy")),
    ),
    "social_proof": (
        T("Why {crowd} in {region} {proof}"),
        T("Couples at {venue} {proof}", audience="couples"),
        T("Other {crowd} {proof}: here's how"),
        T("How other {crowd} {proof}"),
        T("The {season} couples we work with {proof}", audience="couples"),
        T("Join the {crowd} who {proof}"),
        T("{crowd_cap} {proof}"),
    ),
    "personal": (
        T("{first_name|Hello}, a note for {milestone}", types=("milestone",)),
        T("{first_name|Hello}, a note about your {season} wedding", audience="couples"),
        T("{first_name|Hello}, {countdown} and we're here", audience="couples"),
        T("A note for {first_name|you both} from {sender}", audience="couples"),
        T("{first_name|Hello}, we picked this for you"),
        T("{first_name|Hello}, this is for you"),
        T("{first_name|Hi}, {thing} just for you"),
        T("{first_name|Hello}, a quick word about {topic}"),
        T("{business_name|Hello}, a note about {topic}", audience="suppliers"),
    ),
}

PREHEADERS: dict[str, tuple[Template, ...]] = {
    "benefit": (
        T("{thing_cap}, ready when you are."),
        T("{gain_cap}: it takes two minutes to {act}."),
    ),
    "urgency": (
        T("{countdown_cap}, so now is a good time to {act}.", audience="couples"),
        T("Dates fill up before {season}: {act} while there is room."),
        T("A small step this week saves a rush later: {act}."),
    ),
    "curiosity": (
        T("One idea for {topic} most people miss."),
        T("Two minutes, one useful idea for {topic}."),
    ),
    "social_proof": (
        T("What other {crowd} do, and how you can too."),
        T("{crowd_cap} in {region} already {proof}."),
    ),
    "personal": (
        T("Picked for you by {sender}."),
        T("A short note about {topic}, just for you."),
    ),
}

OPENINGS: dict[str, tuple[Template, ...]] = {
    "benefit": (
        T("We put together {thing} so you get {gain}."),
        T("{thing_cap} is ready, and with it {gain}."),
    ),
    "urgency": (
        T("{countdown_cap}, and this is the moment to {act}.", audience="couples"),
        T("Dates before {season} are filling up, so now is a good time to {act}."),
        T("A little planning now saves a rush later, so now is a good time to {act}."),
    ),
    "curiosity": (
        T("There is one thing about {topic} that most people only find out late."),
        T("We noticed something about {topic} that we think you'll like."),
    ),
    "social_proof": (
        T("{crowd_cap} in {region} often {proof}, and it makes a real difference."),
        T("Many of the {crowd} we work with {proof}, and it makes a real difference."),
    ),
    "personal": (
        T("We wanted to write to you about {topic} ourselves."),
        T("This one is just for you: {thing}, picked with {topic} in mind."),
    ),
}

CONTEXT_LINES = (
    T("Everything is set up for {venue}."),
    T("It fits a {season} wedding beautifully.", audience="couples"),
    T("We work with couples all over {region}.", audience="couples"),
    T("Couples across {region} are planning now.", audience="suppliers"),
    T("{countdown_cap}, so there is still time to make it yours.", audience="couples"),
    T("{offer_cap} is yours when you {act}."),
)
CLOSINGS = {
    "warm": ("With love,", "Warm wishes,"),
    "playful": ("Cheers,", "High fives,"),
    "professional": ("Kind regards,", "Best regards,"),
}
GREETINGS = {
    "warm": 'Hi {{ first_name|default("there") }},',
    "playful": 'Hey {{ first_name|default("there") }},',
    "professional": 'Dear {{ first_name|default("customer") }},',
}
SUPPLIER_PLURALS = {
    "photographer": "photographers",
    "venue": "venues",
    "florist": "florists",
    "planner": "planners",
    "caterer": "caterers",
    "musician": "musicians",
    "videographer": "videographers",
    "stylist": "stylists",
}
