"""A labelled demo data set: support chats about the (made-up) Kestrel Hub, answered by three
models under three prompt variants and rated by five reviewers who do not always agree, and a
finished experiment (three variants answering a question set) with the reviewers' blind votes and
a scripted judge's verdicts, stored as a real run, real votes and a real judge would store them.

Everything it writes has source = "demo"; ``python -m dashboard demo --replace`` swaps it out
and leaves every other row alone. The same seed gives the same data (timestamps end today).
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from dashboard.experiments import variant_label
from dashboard.judge import DEFAULT_RUBRIC
from store.dates import utc_text
from store.demo import load_demo_set

DAYS = 28
CONVERSATIONS = 1_150
DEMO_SOURCE = "demo"


@dataclass(frozen=True)
class Entry:
    """One support question: ways to ask it, a good answer and a confidently wrong one."""

    topic: str
    asks: tuple[str, ...]
    good: str
    wrong: str
    lang: str = "en"


@dataclass(frozen=True)
class ModelProfile:
    """How a demo model behaves: answer quality, speed and how often the call fails."""

    skill: float  # added to the odds of a good answer
    ttft_ms: float
    tokens_per_s: float
    failure_rate: float
    weight: float


@dataclass(frozen=True)
class Reviewer:
    """A demo reviewer: how harsh, how noisy, how busy, and habits."""

    name: str
    bias: float
    noise: float
    weight: float
    thumbs_share: float  # how often they also click a thumb
    writes_ideal: float  # how often a low rating comes with an ideal answer


MODELS = {
    "llama3.2:3b": ModelProfile(skill=-0.55, ttft_ms=170, tokens_per_s=52, failure_rate=0.045,
                                weight=0.34),
    "qwen2.5:7b": ModelProfile(skill=0.55, ttft_ms=430, tokens_per_s=23, failure_rate=0.02,
                               weight=0.36),
    "mistral:7b": ModelProfile(skill=0.1, ttft_ms=390, tokens_per_s=25, failure_rate=0.03,
                               weight=0.30),
}

REVIEWERS = (
    Reviewer("ana", bias=0.0, noise=0.45, weight=0.30, thumbs_share=0.5, writes_ideal=0.45),
    Reviewer("ben", bias=-0.45, noise=0.5, weight=0.24, thumbs_share=0.2, writes_ideal=0.1),
    Reviewer("chen", bias=0.35, noise=0.55, weight=0.20, thumbs_share=0.7, writes_ideal=0.35),
    Reviewer("dara", bias=0.0, noise=0.9, weight=0.14, thumbs_share=0.4, writes_ideal=0.05),
    Reviewer("eli", bias=-0.1, noise=0.6, weight=0.12, thumbs_share=0.9, writes_ideal=0.2),
)

SYSTEM_BASE = (
    "You are the support assistant of Kestrel, which sells the Kestrel Hub smart-home hub, the"
    " Kestrel Plus subscription and a developer API. Answer the customer's question accurately."
    " If you do not know, say so and point to support@kestrel.example."
)
VARIANTS: tuple[dict[str, Any], ...] = (
    {"name": "baseline", "version": 1, "day": 0, "system_prompt": SYSTEM_BASE,
     "params": {"temperature": 0.7, "max_tokens": 512}},
    {"name": "concise", "version": 1, "day": 0,
     "system_prompt": SYSTEM_BASE + " Answer in at most two sentences.",
     "params": {"temperature": 0.3, "max_tokens": 160}},
    {"name": "concise", "version": 2, "day": 12,
     "system_prompt": SYSTEM_BASE + " Answer in at most three sentences, and always include the"
     " one step the customer must take next.",
     "params": {"temperature": 0.3, "max_tokens": 220}},
    {"name": "friendly", "version": 1, "day": 0,
     "system_prompt": SYSTEM_BASE + " Be warm and encouraging, and end by offering more help.",
     "params": {"temperature": 0.9, "max_tokens": 512}},
)
VARIANT_WEIGHTS = {"baseline": 0.4, "concise": 0.35, "friendly": 0.25}

# What a reviewer sees wrong in each kind of bad answer.
KIND_SCORE = {"good": 4.6, "verbose": 3.4, "incomplete": 2.7, "generic": 1.8, "wrong": 1.3}
KIND_TAGS = {
    "verbose": ("too long",),
    "incomplete": ("incomplete",),
    "generic": ("off-topic", "incomplete"),
    "wrong": ("wrong", "hallucination"),
}
KIND_COMMENTS = {
    "verbose": (
        "Correct, but the customer has to dig for the one step that matters.",
        "Half of this is filler.",
        "Fine content, far too long for chat.",
    ),
    "incomplete": (
        "Stops before telling them what to do.",
        "Misses the second half of the question.",
        "Right direction, but not enough to act on.",
    ),
    "generic": (
        "Doesn't answer the question at all.",
        "Boilerplate. We know the answer to this one.",
        "Deflects to support for something we document.",
    ),
    "wrong": (
        "This is wrong: check the help center article.",
        "Made-up policy. We never said this.",
        "Confidently wrong, and the customer will act on it.",
        "Invented a menu that does not exist.",
    ),
    "good": ("Clear and correct.", "Exactly what I'd write.", "Good, maybe a touch long."),
}
GENERIC_ANSWERS = (
    "I'm sorry, I don't have access to your account details. Please contact our support team at"
    " support@kestrel.example and they will be happy to help you with this request.",
    "That's a great question! There are many factors that can affect this, and the best option"
    " depends on your situation. I recommend reviewing our documentation or reaching out to"
    " support for personalised guidance.",
    "Thank you for reaching out. Kestrel is committed to giving you the best possible experience."
    " For questions like this one, our help center has a range of articles that may be useful.",
    "I understand how frustrating this can be. Unfortunately I can't help with that here, but our"
    " team is available around the clock.",
)
FILLER = (
    "It is also worth keeping in mind that Kestrel regularly reviews its policies and processes to"
    " make sure they serve customers well, so details can change over time. We always recommend"
    " checking the help center for the latest information.",
    "As a general best practice, keep your account details up to date, make sure your email"
    " address is verified, and review your notification settings so that you never miss an"
    " important update about your orders, your subscription or your devices.",
    "Many customers find it helpful to bookmark the help center and to follow our status page, so"
    " that they can quickly find answers to common questions without waiting for a reply.",
)
REASK_PREFIXES = (
    "That didn't answer my question. ",
    "No, that's not it. ",
    "I tried that and it didn't work. ",
    "Sorry, let me ask again: ",
    "",
)
ERRORS = {
    "timeout": "The model took longer than 60 s to answer; the call was stopped.",
    "unreachable": "Cannot reach the Ollama server at http://127.0.0.1:11434: connection refused.",
    "memory": "model requires more system memory (6.1 GiB) than is available (4.2 GiB)",
}

ENTRIES: tuple[Entry, ...] = (
    # -- billing --------------------------------------------------------------------------------
    Entry("billing", (
        "How do I get a refund for my Kestrel Plus subscription?",
        "I want my money back for the subscription I just renewed, how?",
        "Can I get refunded if I cancel Kestrel Plus?",
    ), "You can cancel Kestrel Plus within 30 days of a charge and get a full refund. Open"
       " Account > Billing, pick the charge and choose Request refund. The money is back on your"
       " card within 5 to 10 business days.",
       "Refunds are only possible within 48 hours of purchase and must be requested by phone. After"
       " that, the subscription runs until the end of the year and cannot be refunded."),
    Entry("billing", (
        "Why was I charged twice this month?",
        "There are two Kestrel charges on my card statement for March.",
    ), "Two charges usually mean a pending authorisation and the real payment; the pending one"
       " disappears within 3 business days. If both are still there after that, open Account >"
       " Billing > Invoices and tap Report a problem on the duplicate, and we refund it.",
       "Being charged twice is normal: Kestrel bills the hub and the subscription separately on the"
       " same day, so both charges are correct."),
    Entry("billing", (
        "Where can I download my invoices?",
        "I need a PDF invoice for my company's expense report.",
        "how do i get an invoice with our VAT number on it",
    ), "Every invoice is in Account > Billing > Invoices, with a PDF download button. To add a"
       " company name or VAT number, edit Billing details first; invoices issued after that carry"
       " them.",
       "Invoices are emailed once a year in January. If you need one earlier, you have to write to"
       " our accounting team by post."),
    Entry("billing", (
        "How do I change the credit card for my subscription?",
        "My card expired, how do I update payment details?",
    ), "Go to Account > Billing > Payment method and choose Replace card. The new card is used"
       " from the next renewal; if a payment already failed, we retry it on the new card within a"
       " day.",
       "Payment methods cannot be changed online. Cancel the subscription, wait for it to expire"
       " and subscribe again with the new card."),
    Entry("billing", (
        "Is there a student discount on Kestrel Plus?",
        "Do you offer discounts for students or non-profits?",
    ), "Yes: students get 50% off Kestrel Plus with a verified university email, and registered"
       " non-profits get 30% off. Apply from Account > Billing > Discounts.",
       "Kestrel offers a lifetime free plan to students and non-profits; just mention it in the"
       " chat and we switch your account."),
    Entry("billing", (
        "What happens if my payment fails?",
        "My renewal payment was declined, will I lose my automations?",
    ), "We retry a failed payment three times over seven days and email you each time. Your"
       " automations keep running during that time; only Plus features pause if the last retry"
       " fails.",
       "If a payment fails, the hub is locked immediately and all automations are deleted after"
       " 24 hours."),
    Entry("billing", (
        "Can I switch from monthly to yearly billing?",
        "How much do I save with the annual plan?",
    ), "Yes. In Account > Billing choose Switch to yearly; the yearly plan costs the same as ten"
       " months. We credit what is left of your current month.",
       "The yearly plan is only available to new customers who sign up before the hub ships."),
    # -- shipping -------------------------------------------------------------------------------
    Entry("shipping", (
        "Where is my Kestrel Hub order?",
        "I ordered a hub a week ago and it still hasn't arrived.",
        "How can I track my delivery?",
    ), "Open Orders in your account and choose Track; the link shows the courier's latest scan."
       " Orders ship within 2 business days and arrive 3 to 5 business days later in most of the"
       " EU and the US.",
       "All orders are shipped on the first Monday of each month, so it can take up to five weeks;"
       " tracking numbers are not available."),
    Entry("shipping", (
        "Can I change the delivery address after ordering?",
        "I put the wrong address on my order, can you fix it?",
    ), "Yes, as long as the order has not shipped: open Orders, choose the order and Edit address."
       " Once it has shipped, use the courier's tracking page to redirect the parcel.",
       "Addresses can never be changed. Refuse the parcel when it arrives and order again."),
    Entry("shipping", (
        "Do you ship to Canada?",
        "Which countries do you deliver to?",
    ), "We ship to the US, Canada, the UK, the EU, Norway and Switzerland. Duties for Canada, the"
       " UK, Norway and Switzerland are included in the price at checkout.",
       "We only ship within the United States at the moment."),
    Entry("shipping", (
        "My hub arrived damaged, what should I do?",
        "The box was crushed and the hub doesn't power on.",
    ), "Sorry about that. Take a photo of the box and the hub, then open Orders > Report a"
       " problem within 14 days. We send a replacement right away and a prepaid label for the"
       " damaged one.",
       "Damage in transit is the courier's responsibility; please file a claim with them and we"
       " can replace the hub once their investigation ends."),
    Entry("shipping", (
        "How do I return my hub?",
        "What is your return policy?",
    ), "You can return the hub within 30 days for a full refund. Start the return in Orders >"
       " Return; we email a prepaid label, and the refund is issued when the parcel is scanned.",
       "Returns are accepted within 7 days only if the hub is unopened, and the customer pays for"
       " shipping."),
    # -- account --------------------------------------------------------------------------------
    Entry("account", (
        "How do I reset my password?",
        "I forgot my password and can't log in.",
        "password reset email never arrives",
    ), "On the sign-in page choose Forgot password and enter your email; the reset link is valid"
       " for one hour. If it does not arrive within five minutes, check the spam folder and that"
       " you used the address you signed up with.",
       "Passwords can only be reset by our support team. Send us your current password and we"
       " will set a new one for you."),
    Entry("account", (
        "How do I turn on two-factor authentication?",
        "Can I use an authenticator app with my Kestrel account?",
    ), "Go to Account > Security > Two-factor authentication and scan the QR code with any"
       " authenticator app, then enter the 6-digit code. Save the recovery codes somewhere safe.",
       "Two-factor authentication is only available by SMS and is switched on automatically for"
       " all accounts."),
    Entry("account", (
        "How can I delete my account?",
        "I want all my data removed from Kestrel.",
    ), "Open Account > Privacy > Delete account. We remove your data within 30 days and email a"
       " confirmation; cancel any active subscription first so you are not charged again.",
       "Accounts cannot be deleted, but you can stop using it and it will be archived after five"
       " years."),
    Entry("account", (
        "How do I share my home with my partner?",
        "Can two people control the same hub?",
    ), "Yes. In the app open Home > Members > Invite and enter their email. Members can control"
       " devices; only owners can change billing or remove the hub.",
       "Each hub supports exactly one account. Your partner needs to buy a second hub."),
    Entry("account", (
        "I changed my email address, how do I update it?",
        "How do I change the email on my account?",
    ), "Go to Account > Profile > Email, enter the new address and confirm the link we send to"
       " it. Your sign-in and invoices switch to the new address once it is confirmed.",
       "The email address is your account ID and can never be changed."),
    # -- product setup --------------------------------------------------------------------------
    Entry("setup", (
        "How do I connect the hub to my Wi-Fi?",
        "Setting up the hub, it doesn't find my wifi network.",
        "Kestrel Hub wifi setup not working",
    ), "Hold the hub's button until the light blinks blue, then add the hub in the app and pick"
       " your network. The hub needs a 2.4 GHz network; if your router combines 2.4 and 5 GHz"
       " under one name, set it up near the router.",
       "The hub only works over Ethernet; Wi-Fi is not supported. Plug it into your router with the"
       " included cable."),
    Entry("setup", (
        "Why is the light on my hub blinking red?",
        "Hub light flashing red, what does it mean?",
    ), "Blinking red means the hub lost its internet connection. Check that your router is online,"
       " then restart the hub by unplugging it for ten seconds. If it keeps blinking, re-run Wi-Fi"
       " setup from the app.",
       "A red light means the hub is overheating and must be returned immediately."),
    Entry("setup", (
        "How do I pair a Zigbee sensor with the hub?",
        "My door sensor won't pair with Kestrel.",
    ), "In the app choose Add device > Zigbee, then put the sensor in pairing mode (usually by"
       " holding its button for five seconds). Keep it within a few metres of the hub while"
       " pairing.",
       "Zigbee devices pair automatically as soon as they are switched on anywhere in the house."),
    Entry("setup", (
        "How do I update the hub's firmware?",
        "Is my hub on the latest firmware?",
    ), "Firmware updates install automatically at night. To check, open Settings > Hub > About;"
       " to update now, choose Check for updates. Keep the hub plugged in until the light turns"
       " solid white.",
       "Firmware has to be updated by USB: download the file from our website and copy it to a"
       " stick formatted as NTFS."),
    Entry("setup", (
        "Does the hub work with Google Home and Alexa?",
        "Can I control Kestrel with my Alexa speaker?",
    ), "Yes. In the Alexa or Google Home app, add the Kestrel skill or service and sign in with"
       " your Kestrel account; your devices appear there within a minute.",
       "Kestrel only works with Apple HomeKit; Alexa and Google Home are not supported."),
    Entry("setup", (
        "How do I create an automation that turns on the lights at sunset?",
        "Can the hub switch lights on when it gets dark?",
    ), "In the app open Automations > New, choose the trigger Sunset (with an offset if you"
       " like), then add the action Turn on and pick your lights. Automations run on the hub, so"
       " they work even when the internet is down.",
       "Sunset triggers need Kestrel Plus and a weather station accessory."),
    # -- API usage ------------------------------------------------------------------------------
    Entry("api", (
        "How do I get an API token?",
        "Where do I create credentials for the Kestrel API?",
    ), "Open the developer console at Account > Developer > Tokens and choose New token. Give it"
       " only the scopes you need; the token is shown once, so store it in a secret manager.",
       "API tokens are issued by email after you send us a signed developer agreement."),
    Entry("api", (
        "What is the API rate limit?",
        "I'm getting 429 Too Many Requests from the API.",
        "why does the api return 429",
    ), "Each token may make 10 requests per second with bursts of 50. A 429 response carries a"
       " Retry-After header: wait that many seconds, and use webhooks instead of polling for"
       " device state.",
       "There is no rate limit on the Kestrel API; a 429 means your token was revoked."),
    Entry("api", (
        "How do I receive webhooks when a sensor changes?",
        "Can the API push events to my server?",
    ), "Register an HTTPS endpoint in Developer > Webhooks and choose the event types. Each call"
       " is signed with an HMAC-SHA256 header (X-Kestrel-Signature) you should verify, and failed"
       " deliveries are retried for 24 hours.",
       "Webhooks are not available; poll GET /v1/devices every second instead."),
    Entry("api", (
        "How does pagination work in the devices endpoint?",
        "GET /v1/devices only returns 50 items, how do I get the rest?",
    ), "List endpoints return at most 50 items and a next_cursor field. Pass it as ?cursor= on the"
       " next request until next_cursor is null.",
       "Add ?page=all to the request to get every device in one response."),
    Entry("api", (
        "Is there a Python SDK for the Kestrel API?",
        "Which SDKs do you provide?",
    ), "Yes: pip install kestrel-sdk. There are official SDKs for Python and JavaScript; both wrap"
       " authentication, pagination and retries.",
       "We only provide a Java SDK; for Python you have to call the REST endpoints by hand."),
    Entry("api", (
        "My API calls fail with 401 Unauthorized.",
        "Why do I get 401 with a token that worked yesterday?",
    ), "A 401 means the token is missing, expired or revoked. Send it as 'Authorization: Bearer"
       " <token>', and check in Developer > Tokens that it is still active; tokens expire after"
       " 90 days unless you chose No expiry.",
       "401 errors happen when the hub is offline; restart the hub and try again."),
    # -- Korean ---------------------------------------------------------------------------------
    Entry("billing", (
        "구독을 해지하면 환불받을 수 있나요?",
        "Kestrel Plus 환불 방법을 알려주세요.",
    ), "결제일로부터 30일 이내에 해지하면 전액 환불됩니다. 계정 > 결제에서 해당 결제를 선택하고"
       " 환불 요청을 누르세요. 5~10 영업일 안에 카드로 환불됩니다.",
       "환불은 구매 후 48시간 이내에만 전화로 가능합니다.", lang="ko"),
    Entry("shipping", (
        "주문한 허브가 아직 도착하지 않았어요.",
        "배송 조회는 어디서 하나요?",
    ), "계정의 주문 내역에서 배송 조회를 누르면 택배사의 최신 위치를 볼 수 있습니다. 주문 후"
       " 2영업일 안에 발송되며 보통 3~5영업일 뒤에 도착합니다.",
       "모든 주문은 매월 첫째 주 월요일에 한꺼번에 발송되며 배송 조회는 지원하지 않습니다.", lang="ko"),
    Entry("account", (
        "비밀번호를 잊어버렸어요. 어떻게 재설정하나요?",
        "비밀번호 재설정 메일이 오지 않아요.",
    ), "로그인 화면에서 비밀번호 찾기를 누르고 이메일을 입력하세요. 링크는 1시간 동안 유효합니다."
       " 5분 안에 메일이 오지 않으면 스팸함을 확인해 주세요.",
       "비밀번호는 고객센터에서만 바꿀 수 있으니 현재 비밀번호를 보내 주세요.", lang="ko"),
    Entry("setup", (
        "허브를 와이파이에 연결하는 방법을 알려주세요.",
        "허브가 집 와이파이를 찾지 못해요.",
    ), "허브 버튼을 파란 불이 깜박일 때까지 누른 뒤 앱에서 허브를 추가하고 네트워크를 선택하세요."
       " 허브는 2.4GHz 네트워크만 지원합니다.",
       "허브는 유선 랜만 지원하며 와이파이는 사용할 수 없습니다.", lang="ko"),
)
KOREAN_GENERIC = "죄송하지만 해당 정보는 확인할 수 없습니다. support@kestrel.example 로 문의해 주세요."
KOREAN_REASK = ("답변이 도움이 안 됐어요. ", "다시 질문할게요. ")


# -- the finished experiment -------------------------------------------------------------------

EXPERIMENT_DAY = 19  # created that many days after the first demo day, then voted on until today
EXPERIMENT_MODEL = "qwen2.5:7b"
EXPERIMENT_VARIANTS = (("baseline", 1), ("concise", 2), ("friendly", 1))
# How many answers of each kind each variant gives to the 33 questions of the set. Fixed counts
# (their order is shuffled per seed) so every seed tells the same story: concise v2 is clearly
# better, friendly and baseline are close to even.
EXPERIMENT_KINDS = {
    "baseline": {"good": 20, "verbose": 5, "incomplete": 3, "generic": 2, "wrong": 3},
    "concise": {"good": 26, "verbose": 0, "incomplete": 4, "generic": 1, "wrong": 2},
    "friendly": {"good": 19, "verbose": 8, "incomplete": 1, "generic": 3, "wrong": 2},
}
# What reviewers like beyond correctness: a short answer with the next step, a warm tone.
VOTE_STYLE = {"baseline": 0.0, "concise": 0.6, "friendly": 0.1}
# Share of the experiment's pairs each demo reviewer voted on.
VOTE_SHARE = {"ana": 0.75, "ben": 0.65, "chen": 0.6, "dara": 0.45, "eli": 0.55}
BAD_KINDS = ("incomplete", "generic", "wrong")
VOTE_REASONS = {
    "wrong": ("The other answer gets the policy wrong.", "Made-up details in the other one."),
    "generic": ("The other one doesn't answer the question.", "The other one just deflects."),
    "incomplete": ("This one tells them what to do next.", "The other one stops halfway."),
    "verbose": ("Same facts, much less to read.", "The other one buries the answer."),
    "good": ("Both fine; this one is clearer.", "Slightly more direct."),
    "tie": ("Both fine.", "Hard to tell apart."),
    "both_bad": ("Neither is right.", "Both miss the point."),
}

JUDGE_MODEL = "demo-judge (scripted, no model call)"
JUDGE_BACKEND = "demo"
# How the scripted judge sees each kind of answer: it minds padding less than the reviewers do,
# rewards the concise variant (its rubric asks for no padding) and not the friendly tone.
JUDGE_SCORE = {"good": 4.6, "verbose": 4.4, "incomplete": 2.9, "generic": 1.6, "wrong": 1.8}
JUDGE_STYLE = {"baseline": 0.0, "concise": 0.4, "friendly": -0.1}
JUDGE_POSITION_BIAS = 0.1  # the answer shown first looks a little better to it
JUDGE_NOISE = 0.08
JUDGE_MARGIN = 0.25  # a smaller gap is a tie
JUDGE_FLAWS = {
    "wrong": "states a policy that is not right",
    "generic": "does not answer the question",
    "incomplete": "stops before the step the customer needs",
    "verbose": "buries the answer in filler",
    "good": "is correct too, but less direct",
}


@dataclass
class DemoData:
    """The generated data set, in the shape ``store.ingest.load_demo`` writes."""

    variants: list[dict[str, Any]]
    conversations: list[dict[str, Any]]
    experiments: list[dict[str, Any]] = field(default_factory=list)

    @property
    def turns(self) -> list[dict[str, Any]]:
        """Every interaction, conversation by conversation."""
        return [turn for conversation in self.conversations for turn in conversation["turns"]]


@dataclass
class DemoResult:
    """What ``load_demo`` did."""

    skipped: bool = False
    existing: int = 0
    removed: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    stats: dict[str, Any] = field(default_factory=dict)

    def lines(self) -> list[str]:
        """A short summary for people."""
        s = self.stats
        out = []
        if self.removed:
            out.append(f"Removed the previous demo data ({self.removed:,} interactions).")
        out += [
            f"Loaded the demo data set (source = demo): {s['interactions']:,} interactions in"
            f" {s['conversations']:,} conversations, from {s['first_day']} to {s['last_day']}.",
            f"  models:    {', '.join(s['models'])}",
            f"  variants:  {', '.join(s['variants'])}",
            f"  reviewers: {', '.join(s['reviewers'])}",
            f"  ratings:   {s['ratings']:,} ({s['overlap']:,} interactions rated by two or more"
            f" reviewers), {s['ideal_answers']:,} ideal answers",
            f"  failures:  {s['failures']:,} calls failed; {s['reasks']:,} re-asked questions",
        ]
        for experiment in s["experiments"]:
            out.append(
                f"  experiment: {experiment['name']}: {experiment['questions']} questions,"
                f" {', '.join(experiment['variants'])}; {experiment['votes']} blind votes,"
                f" {experiment['judgments']} judge verdicts ({JUDGE_MODEL})"
            )
        return out


def _sentences(text: str) -> list[str]:
    parts, start = [], 0
    for index, char in enumerate(text):
        if char in ".?!" and (index + 1 == len(text) or text[index + 1] == " "):
            parts.append(text[start : index + 1].strip())
            start = index + 1
    if text[start:].strip():
        parts.append(text[start:].strip())
    return parts


class _Generator:
    def __init__(self, seed: int, now: datetime) -> None:
        self.seed = seed
        self.rng = random.Random(seed)
        self.now = now.replace(microsecond=0)
        self.start = (self.now - timedelta(days=DAYS)).replace(hour=0, minute=0, second=0)
        self.by_topic: dict[str, list[Entry]] = {}
        for entry in ENTRIES:
            self.by_topic.setdefault(entry.topic, []).append(entry)

    # -- choices ----------------------------------------------------------------------------------

    def _weighted(self, options: dict[str, float]) -> str:
        return self.rng.choices(list(options), weights=list(options.values()))[0]

    def _variant(self, name: str, day: int) -> dict[str, Any]:
        versions = [v for v in VARIANTS if v["name"] == name and v["day"] <= day]
        return max(versions, key=lambda v: v["version"])

    def _moment(self) -> datetime:
        # Busier on weekdays and in office hours; a little growth over the weeks; a few today.
        if self.rng.random() < 0.01:
            return self.now - timedelta(minutes=self.rng.randrange(5, 180))
        while True:
            day = int(DAYS * math.sqrt(self.rng.random()))
            moment = self.start + timedelta(days=day)
            weekday = moment.weekday() < 5
            if self.rng.random() < (1.0 if weekday else 0.45):
                break
        hour = min(23, max(0, int(self.rng.gauss(14, 4))))
        moment = moment.replace(hour=hour, minute=self.rng.randrange(60),
                                second=self.rng.randrange(60))
        if moment > self.now - timedelta(minutes=30):
            moment = self.now - timedelta(minutes=self.rng.randrange(30, 600))
        return moment

    def _kind(self, model: ModelProfile, variant: dict[str, Any], entry: Entry) -> str:
        good = 1.1 + model.skill + (0.3 if entry.topic != "api" else -0.35)
        if entry.lang == "ko":
            good -= 0.6
        weights = {"good": math.exp(good), "verbose": 0.35, "incomplete": 0.35,
                   "generic": 0.3, "wrong": 0.45 - 0.2 * model.skill}
        if variant["name"] == "concise":
            # v1 ("two sentences") cuts answers short; v2 asks for the next step and fixes that.
            weights["incomplete"] += 2.4 if variant["version"] == 1 else 0.1
            weights["good"] *= 1.0 if variant["version"] == 1 else 1.4
            weights["verbose"] = 0.05
        if variant["name"] == "friendly":
            weights["verbose"] += 0.5
            weights["generic"] += 0.1
        return self._weighted(weights)

    # -- texts --------------------------------------------------------------------------------------

    def _answer(self, entry: Entry, kind: str, variant: dict[str, Any]) -> str:
        rng = self.rng
        if kind == "wrong":
            text = entry.wrong
        elif kind == "generic":
            text = KOREAN_GENERIC if entry.lang == "ko" else rng.choice(GENERIC_ANSWERS)
        elif kind == "incomplete":
            text = _sentences(entry.good)[0]
        elif kind == "verbose":
            extra = rng.sample(FILLER, 2)
            text = entry.good if entry.lang == "ko" else f"{extra[0]}\n\n{entry.good}\n\n{extra[1]}"
        else:
            text = entry.good
        if entry.lang == "ko":
            return text
        if variant["name"] == "concise" and kind in ("good", "wrong"):
            keep = 2 if variant["version"] == 1 else 3
            text = " ".join(_sentences(text)[:keep])
        elif variant["name"] == "friendly":
            opener = rng.choice(("Happy to help! ", "Great question! ", "Thanks for asking! ", ""))
            closer = rng.choice((" Let me know if there's anything else I can do.",
                                 " Anything else I can help you with?", ""))
            text = opener + text + closer
        return text

    def _timing(self, model: ModelProfile, answer: str | None, prompt_chars: int,
                lang: str) -> dict[str, Any]:
        rng = self.rng
        chars_per_token = 1.6 if lang == "ko" else 4.0
        prompt_tokens = int(prompt_chars / 4.0) + 12
        if answer is None:
            return {"prompt_tokens": prompt_tokens}
        completion = max(3, int(len(answer) / chars_per_token * rng.uniform(0.9, 1.1)))
        ttft = model.ttft_ms * rng.lognormvariate(0, 0.3) + prompt_tokens * 0.15
        latency = ttft + completion / (model.tokens_per_s * rng.uniform(0.85, 1.1)) * 1000
        return {"prompt_tokens": prompt_tokens, "completion_tokens": completion,
                "ttft_ms": round(ttft, 1), "latency_ms": round(latency, 1)}

    def _ratings(self, entry: Entry, kind: str, answer: str, asked: datetime) -> list[dict]:
        rng = self.rng
        count = rng.choices((0, 1, 2, 3), weights=(0.12, 0.47, 0.29, 0.12))[0]
        if not count:
            return []
        chosen: list[Reviewer] = []
        pool = list(REVIEWERS)
        while len(chosen) < count:
            pick = rng.choices(pool, weights=[r.weight for r in pool])[0]
            pool.remove(pick)
            chosen.append(pick)
        ratings = []
        for reviewer in chosen:
            score = KIND_SCORE[kind] + reviewer.bias + rng.gauss(0, reviewer.noise)
            stars: int | None
            stars = min(5, max(1, round(score)))
            thumbs = None
            if rng.random() < reviewer.thumbs_share:
                thumbs = 1 if stars >= 4 else -1 if stars <= 2 else rng.choice((1, -1))
            if thumbs is not None and rng.random() < 0.12:
                stars = None  # a quick thumb, no stars
            low = (stars or 3) <= 2 or thumbs == -1
            tags: list[str] = []
            comment = ideal = None
            if low and kind in KIND_TAGS:
                options = KIND_TAGS[kind]
                tags = [options[0]] if rng.random() < 0.7 else list(options)
                if rng.random() < 0.15:
                    tags.append("formatting" if kind == "verbose" else "unsafe"
                                if kind == "wrong" and rng.random() < 0.2 else "off-topic")
            elif not low and kind == "verbose" and rng.random() < 0.3:
                tags = ["too long"]
            if rng.random() < (0.45 if low else 0.08):
                comment = rng.choice(KIND_COMMENTS[kind])
            if low and rng.random() < reviewer.writes_ideal:
                ideal = entry.good
            delay = timedelta(minutes=rng.randrange(5, 60 * 24 * 3))
            when = min(asked + delay, self.now - timedelta(minutes=1))
            ratings.append({
                "reviewer": reviewer.name, "stars": stars, "thumbs": thumbs, "comment": comment,
                "tags": sorted(set(tags)), "ideal_answer": ideal, "created_at": utc_text(when),
            })
        return ratings

    def _reask(self, entry: Entry, question: str) -> str:
        """The customer asks again: nearly the same words, a complaint first, or other words."""
        rng = self.rng
        how = rng.random()
        base = next((a for a in entry.asks if question.endswith(a)), question)
        if how < 0.45:
            edits = (str.lower, lambda q: q.rstrip("?.") + "??", lambda q: q.rstrip("?.") + " please?",
                     lambda q: q.rstrip("?.") + "?!", lambda q: q.replace("I ", "i ").rstrip("?"))
            return rng.choice(edits)(base)
        if how < 0.75:
            prefixes = KOREAN_REASK if entry.lang == "ko" else REASK_PREFIXES
            return rng.choice(prefixes) + base
        others = [a for a in entry.asks if a != base]
        return rng.choice(others) if others else base.lower()

    # -- conversations -----------------------------------------------------------------------------

    def conversation(self) -> dict[str, Any]:
        rng = self.rng
        model_name = self._weighted({name: m.weight for name, m in MODELS.items()})
        model = MODELS[model_name]
        moment = self._moment()
        day = (moment - self.start).days
        variant = self._variant(self._weighted(VARIANT_WEIGHTS), day)
        korean = rng.random() < 0.06
        entries = [e for e in ENTRIES if (e.lang == "ko") == korean]
        entry = rng.choice(entries)
        used = {entry}
        question = rng.choice(entry.asks)
        turns: list[dict[str, Any]] = []
        history_chars = len(variant["system_prompt"])
        reask_of: str | None = None
        for _ in range(5):
            failed = rng.random() < model.failure_rate
            turn: dict[str, Any] = {
                "question": question, "model": model_name, "backend": "ollama",
                "variant": (variant["name"], variant["version"]),
                "system_prompt": variant["system_prompt"], "params": variant["params"],
                "created_at": utc_text(moment), "ratings": [], "reask_of": reask_of,
            }
            prompt_chars = history_chars + len(question)
            if failed:
                cause = rng.choices(list(ERRORS), weights=(0.5, 0.3, 0.2))[0]
                turn["error"] = ERRORS[cause]
                turn.update(self._timing(model, None, prompt_chars, entry.lang))
                turn["latency_ms"] = 60_000.0 if cause == "timeout" else round(rng.uniform(3, 40), 1)
                kind = "failed"
            else:
                kind = self._kind(model, variant, entry)
                answer = self._answer(entry, kind, variant)
                turn["answer"] = answer
                turn.update(self._timing(model, answer, prompt_chars, entry.lang))
                turn["ratings"] = self._ratings(entry, kind, answer, moment)
                history_chars += len(question) + len(answer)
            turn["kind"] = kind
            turns.append(turn)
            moment += timedelta(seconds=rng.randrange(20, 240))
            if moment > self.now:
                break
            # What does the customer do next?
            if kind == "failed":
                if rng.random() < 0.7:
                    reask_of = question  # the same question again, word for word
                    continue
                break
            if kind in ("wrong", "generic", "incomplete") and rng.random() < 0.55:
                reask_of = question
                question = self._reask(entry, question)
                continue
            if rng.random() < 0.3:
                related = [e for e in self.by_topic[entry.topic]
                           if e not in used and e.lang == entry.lang]
                if related:
                    entry = rng.choice(related)
                    used.add(entry)
                    question = rng.choice(entry.asks)
                    reask_of = None
                    continue
            break
        return {"title": turns[0]["question"][:80], "created_at": turns[0]["created_at"],
                "turns": turns}

    # -- the experiment ----------------------------------------------------------------------------

    def experiment(self, variants: list[dict[str, Any]]) -> dict[str, Any]:
        """A finished experiment: a question set answered by three variants, blind votes from the
        demo reviewers and a scripted judge's verdicts, in the shape ``load_demo_experiments``
        writes."""
        # its own random stream, so the votes do not depend on how many chats today's date allows
        self.rng = rng = random.Random(f"experiment:{self.seed}")
        created = self.start + timedelta(days=EXPERIMENT_DAY, hours=10)
        by_label = {(v["name"], v["version"]): v for v in variants}
        chosen = [by_label[key] for key in EXPERIMENT_VARIANTS]
        items = [
            {"question": entry.asks[0], "reference_answer": entry.good, "category": entry.topic}
            for entry in ENTRIES
        ]
        kinds: dict[str, list[str]] = {}
        for name, counts in EXPERIMENT_KINDS.items():
            pool = [kind for kind, count in counts.items() for _ in range(count)]
            rng.shuffle(pool)
            kinds[name] = pool
        model = MODELS[EXPERIMENT_MODEL]
        answers: list[dict[str, Any]] = []
        moment = created + timedelta(minutes=2)
        for position, entry in enumerate(ENTRIES, 1):
            for variant in chosen:
                kind = kinds[variant["name"]][position - 1]
                text = self._answer(entry, kind, variant)
                timing = self._timing(model, text, len(variant["system_prompt"]) + len(entry.asks[0]),
                                      entry.lang)
                answers.append({
                    "item": position, "variant": (variant["name"], variant["version"]),
                    "answer": text, "model": EXPERIMENT_MODEL, "backend": "ollama",
                    "system_prompt": variant["system_prompt"], "params": variant["params"],
                    **timing, "created_at": utc_text(moment), "kind": kind,
                })
                moment += timedelta(milliseconds=int(timing["latency_ms"]) + 40)
        # the pairs a reviewer is shown, as the Vote page forms them: each two answers to a question
        pairs = []
        for position in range(1, len(ENTRIES) + 1):
            row = [a for a in answers if a["item"] == position]
            pairs += [(first, second) for i, first in enumerate(row) for second in row[i + 1:]]
        judged = moment + timedelta(minutes=5)
        return {
            "name": "baseline vs concise vs friendly (demo)",
            "question_set": {
                "name": "Support questions (demo)", "origin": "demo", "items": items,
                "description": "One question per help-center topic, with the reference answer.",
                "created_at": utc_text(created - timedelta(minutes=20)),
            },
            "variants": list(EXPERIMENT_VARIANTS),
            "created_at": utc_text(created),
            "answers": answers,
            "votes": self._votes(pairs, moment),
            "judgments": [self._judgment(a, b, judged + timedelta(seconds=3 * n))
                          for n, (a, b) in enumerate(pairs)],
        }

    def _votes(self, pairs: list[tuple[dict, dict]], after: datetime) -> list[dict[str, Any]]:
        rng = self.rng
        span = (self.now - timedelta(hours=1) - after).total_seconds()
        votes = []
        for reviewer in REVIEWERS:
            mine = [pair for pair in pairs if rng.random() < VOTE_SHARE[reviewer.name]]
            rng.shuffle(mine)
            for a, b in mine:
                winner = self._human_winner(a, b, reviewer)
                if winner in ("tie", "both_bad"):
                    reason_key = winner
                else:
                    reason_key = (b if winner == "a" else a)["kind"]
                votes.append({
                    "item": a["item"], "a": a["variant"], "b": b["variant"],
                    "left_side": rng.choice("ab"), "winner": winner, "reviewer": reviewer.name,
                    "reason": rng.choice(VOTE_REASONS[reason_key]) if rng.random() < 0.2 else None,
                    "created_at": utc_text(after + timedelta(seconds=rng.uniform(0, span))),
                })
        votes.sort(key=lambda v: v["created_at"])
        return votes

    def _human_winner(self, a: dict[str, Any], b: dict[str, Any], reviewer: Reviewer) -> str:
        rng = self.rng
        if a["kind"] in BAD_KINDS and b["kind"] in BAD_KINDS and rng.random() < 0.6:
            return "both_bad"
        quality = {side: KIND_SCORE[row["kind"]] + VOTE_STYLE[row["variant"][0]]
                   for side, row in (("a", a), ("b", b))}
        gap = quality["a"] - quality["b"] + rng.gauss(0, reviewer.noise)
        if rng.random() < 0.3 * math.exp(-gap * gap):
            return "tie"
        return "a" if rng.random() < 1 / (1 + math.exp(-2.2 * gap)) else "b"

    def _judgment(self, a: dict[str, Any], b: dict[str, Any], when: datetime) -> dict[str, Any]:
        rng = self.rng

        def judged(row: dict[str, Any]) -> float:
            return JUDGE_SCORE[row["kind"]] + JUDGE_STYLE[row["variant"][0]]

        def shown(first: dict[str, Any], second: dict[str, Any]) -> str:
            gap = (judged(first) - judged(second) + JUDGE_POSITION_BIAS
                   + rng.gauss(0, JUDGE_NOISE))
            return "1" if gap > JUDGE_MARGIN else "2" if gap < -JUDGE_MARGIN else "tie"

        a_first = {"1": "a", "2": "b", "tie": "tie"}[shown(a, b)]
        b_first = {"1": "b", "2": "a", "tie": "tie"}[shown(b, a)]
        if a_first == "tie":
            reply = "VERDICT: tie\nBoth answers are " + (
                "correct and equally useful." if a["kind"] not in BAD_KINDS else "equally weak.")
        else:
            better, worse = ("1", "2") if a_first == "a" else ("2", "1")
            flaw = JUDGE_FLAWS[(b if a_first == "a" else a)["kind"]]
            reply = f"VERDICT: {better}\nAnswer {better} answers the question; Answer {worse} {flaw}."
        return {
            "item": a["item"], "a": a["variant"], "b": b["variant"],
            "judge_model": JUDGE_MODEL, "judge_backend": JUDGE_BACKEND, "criteria": DEFAULT_RUBRIC,
            "verdict": a_first if a_first == b_first else "tie",
            "verdict_a_first": a_first, "verdict_b_first": b_first, "rationale": reply,
            "created_at": utc_text(when),
        }


def generate(seed: int = 7, now: datetime | None = None) -> DemoData:
    """The demo data set for a seed; timestamps cover the DAYS days before ``now``."""
    now = now or datetime.now(UTC)
    generator = _Generator(seed, now)
    conversations = [generator.conversation() for _ in range(CONVERSATIONS)]
    conversations.sort(key=lambda c: c["created_at"])
    start = generator.start
    variants = [
        {
            "name": v["name"], "version": v["version"], "system_prompt": v["system_prompt"],
            "template": "{question}", "params": v["params"],
            "created_at": utc_text(start + timedelta(days=v["day"], hours=9)),
        }
        for v in VARIANTS
    ]
    return DemoData(variants=variants, conversations=conversations,
                    experiments=[generator.experiment(variants)])


def describe(data: DemoData) -> dict[str, Any]:
    """Counts a person checks first: interactions, models, reviewers, overlap, failures."""
    turns = data.turns
    ratings = [r for t in turns for r in t["ratings"]]
    days = sorted(t["created_at"][:10] for t in turns)
    return {
        "interactions": len(turns),
        "conversations": len(data.conversations),
        "models": sorted({t["model"] for t in turns}),
        "variants": sorted({f"{v['name']} v{v['version']}" for v in data.variants}),
        "reviewers": sorted({r["reviewer"] for r in ratings}),
        "ratings": len(ratings),
        "overlap": sum(1 for t in turns if len(t["ratings"]) >= 2),
        "ideal_answers": sum(1 for r in ratings if r["ideal_answer"]),
        "failures": sum(1 for t in turns if t.get("error")),
        "reasks": sum(1 for t in turns if t.get("reask_of")),
        "first_day": days[0],
        "last_day": days[-1],
        "experiments": [
            {
                "name": e["name"],
                "questions": len(e["question_set"]["items"]),
                "variants": [variant_label({"name": n, "version": v}) for n, v in e["variants"]],
                "votes": len(e["votes"]),
                "judgments": len(e["judgments"]),
            }
            for e in data.experiments
        ],
    }


def load_demo(store: Any, *, seed: int = 7, replace: bool = False,
              now: datetime | None = None) -> DemoResult:
    """Write the demo data set into the store unless it is there (``replace`` reloads it)."""
    existing = store.ingest.source_count(DEMO_SOURCE)
    result = DemoResult(existing=existing)
    if existing and not replace:
        result.skipped = True
        return result
    data = generate(seed, now)
    result.counts = load_demo_set(store, data.variants, data.conversations, data.experiments,
                                  label=variant_label, replace=bool(existing))
    result.removed = result.counts["removed"]
    result.stats = describe(data)
    return result
