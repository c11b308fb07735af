#!/usr/bin/env python3
"""Writes data/support_tickets.csv: about 3,000 customer-support tickets for Brightline Home, a
fictional maker of smart-home devices, for ticket-classification workshops.

The text is deliberately messy, the way real ticket exports are: typos, odd casing, stray
white space and line breaks, HTML left by e-mail clients, greetings and signatures, exact
re-submissions and near-duplicate follow-ups, missing values, and personal data (names,
e-mail addresses at example domains, fictional phone numbers, payment card *test* numbers that
pass the Luhn check, IBANs from the banks' documentation examples, IP addresses).

Everything is invented by this script (deterministic: seed 20241105). Licence: CC0 1.0.
Run: python3 scripts/datasets/make_support_tickets.py [OUT.csv]  (standard library only)
"""
import csv
import os
import random
import sys

SEED = 20241105
N_TICKETS = 3000
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "data", "support_tickets.csv")
if len(sys.argv) > 1:
    OUT = sys.argv[1]   # another output path (the tests check determinism)

r = random.Random(SEED)

FIRST = ["Anna", "Ben", "Chloé", "Daniel", "Emma", "Farid", "Grace", "Hiro", "Ines", "Jonas", "Kemi", "Lukas",
         "Maria", "Noah", "Olga", "Pedro", "Quinn", "Rosa", "Sven", "Tomasz", "Uma", "Victor", "Wen", "Xavier",
         "Yara", "Zoe", "Aisha", "Björn", "Carmen", "Dmitri", "Elif", "Finn", "Giulia", "Hannah", "Ivan", "Julia",
         "Kofi", "Lea", "Mateo", "Nadia", "Oskar", "Priya", "Rahul", "Sofia", "Tariq", "Valentina", "William"]
LAST = ["Andersen", "Baker", "Costa", "Dubois", "Eriksson", "Fischer", "García", "Hansen", "Ito", "Jensen",
        "Kowalski", "López", "Müller", "Nakamura", "Okafor", "Petrov", "Quintero", "Rossi", "Schmidt", "Tanaka",
        "Umar", "Varga", "Wagner", "Yilmaz", "Zhang", "Novak", "O'Brien", "Silva", "Kim", "Nguyen"]
DOMAINS = ["example.com", "example.org", "example.net", "mail.example.com", "post.example.org"]
# payment card numbers published by card networks for testing (all pass the Luhn check)
TEST_CARDS = ["4111 1111 1111 1111", "4012 8888 8888 1881", "5555 5555 5555 4444", "5105 1051 0510 5100",
              "3782 822463 10005", "3714 496353 98431", "6011 1111 1111 1117", "4111111111111111",
              "5555-5555-5555-4444"]
# IBANs from banks' and registries' documentation examples (valid checksums)
TEST_IBANS = ["DE89 3704 0044 0532 0130 00", "GB82 WEST 1234 5698 7654 32", "NL91 ABNA 0417 1643 00",
              "FR14 2004 1010 0505 0001 3M02 606", "ES91 2100 0418 4502 0005 1332", "BE68 5390 0754 7034",
              "AT61 1904 3002 3457 3201", "CH93 0076 2011 6238 5295 7", "DE89370400440532013000"]

PRODUCTS = ["Lumo bulb", "Lumo strip", "Thermo One thermostat", "Doorly doorbell", "Brightline Hub",
            "Aero air sensor", "Brightline app", "SafePlug smart plug"]
CATEGORIES = ["billing", "shipping", "technical", "account", "returns", "product_question"]
CAT_WEIGHTS = [0.20, 0.19, 0.27, 0.13, 0.11, 0.10]
CHANNELS = ["email", "chat", "web_form", "phone"]


def phone():
    kind = r.random()
    if kind < 0.3:
        return f"+1 (202) 555-01{r.randint(0, 99):02d}"
    if kind < 0.45:
        return f"202-555-01{r.randint(0, 99):02d}"
    if kind < 0.65:
        return f"+44 20 7946 0{r.randint(0, 999):03d}"
    if kind < 0.8:
        return f"+49 30 {r.randint(1000000, 9999999)}"
    if kind < 0.9:
        return f"020 7946 0{r.randint(0, 999):03d}"
    return f"+33 6 {r.randint(10, 99)} {r.randint(10, 99)} {r.randint(10, 99)} {r.randint(10, 99)}"


def order_no():
    return f"BL-{r.randint(100000, 999999)}"


def slot(text, customer):
    product = r.choice(PRODUCTS[:6] + PRODUCTS[7:])
    repl = {
        "{product}": product,
        "{order}": order_no(),
        "{amount}": f"{r.choice([19, 24, 39, 49, 79, 129, 149, 199])}.{r.choice(['00', '99', '50'])}",
        "{days}": str(r.randint(3, 21)),
        "{date}": f"{r.randint(1, 28)}.{r.randint(1, 12)}.2024" if r.random() < 0.5 else f"2024-{r.randint(1, 12):02d}-{r.randint(1, 28):02d}",
        "{card}": r.choice(TEST_CARDS),
        "{iban}": r.choice(TEST_IBANS),
        "{ip}": f"192.168.{r.randint(0, 3)}.{r.randint(2, 254)}",
        "{email}": customer["email"],
        "{phone}": customer["phone"],
        "{version}": f"{r.randint(2, 4)}.{r.randint(0, 12)}.{r.randint(0, 9)}",
        "{error}": r.choice(["E-104", "E-221", "E-309", "timeout", "0x80070005"]),
        "{carrier}": r.choice(["DHL", "UPS", "DPD", "PostNL", "Royal Mail", "FedEx"]),
        "{plan}": r.choice(["Plus monthly", "Plus yearly", "Family"]),
    }
    for k, v in repl.items():
        while k in text:
            text = text.replace(k, v, 1)
            if k in ("{order}",):
                v = order_no()
    return text, product


BODIES = {
    "billing": [
        "I was charged twice for my {plan} subscription this month, {amount} EUR each time. Please refund one of them.",
        "Why is there a charge of {amount} on my card? I cancelled Brightline Plus on {date}.",
        "My card {card} was charged for order {order} but the order shows as unpaid.",
        "Can I get an invoice with my company VAT number for order {order}?",
        "The price in the app was {amount} but I paid more at checkout. Please explain.",
        "Please send the refund to my bank account {iban} instead of the card, the card is expired.",
        "I want to change my payment method from card to bank transfer. My IBAN is {iban}.",
        "The family plan should be cheaper than two Plus plans but I am paying {amount} a month.",
        "Payment failed three times with error {error} even though my card works everywhere else.",
        "Your system billed me after the free trial although I cancelled it on {date}.",
    ],
    "shipping": [
        "My order {order} still hasn't arrived after {days} days. The tracking from {carrier} says delivered but nothing is here.",
        "Where is my package? Order {order}, it was supposed to come on {date}.",
        "The {product} arrived with a crushed box and the glass is cracked.",
        "Can you ship order {order} to a different address? I moved last week.",
        "Tracking number for order {order} does not work on the {carrier} website.",
        "I only received one of the two items in order {order}.",
        "Do you deliver to Norway? The checkout won't accept my postcode.",
        "The courier left the parcel at the wrong house, order {order}.",
        "Order {order} has been 'processing' for {days} days. When will it ship?",
        "Is express shipping available for the {product}? I need it before {date}.",
    ],
    "technical": [
        "My {product} keeps disconnecting from wifi every few hours. Router is 2.4 GHz, hub ip is {ip}.",
        "After the firmware update to {version} the {product} does not respond anymore.",
        "The app crashes when I open the energy tab. Phone is on the latest version.",
        "I can't pair the {product} with the Brightline Hub, it blinks red and shows error {error}.",
        "The {product} shows offline in the app but the light on the device is green.",
        "Doorly doorbell video is very laggy and the audio is delayed by several seconds.",
        "Thermo One thermostat shows the wrong temperature, about 3 degrees too high.",
        "How do I factory reset the {product}? The reset button does nothing.",
        "Automations stopped working since yesterday, the schedule for the {product} is ignored.",
        "Alexa says the {product} is not responding, but it works in your app.",
        "Hub firmware {version} update fails at 80% every time with {error}.",
        "The Aero air sensor reports CO2 of 5000 ppm which can't be right, the window is open.",
    ],
    "account": [
        "I can't log in, the password reset email never arrives. My email is {email}.",
        "Please delete my account and all my data (GDPR request).",
        "How do I change the email address on my account from {email} to a new one?",
        "Someone else in my household needs access to the devices, how do I share my home?",
        "Two-factor code SMS goes to my old number, my new number is {phone}.",
        "My account was locked after too many login attempts.",
        "I have two accounts by mistake, can you merge them? Emails: {email}.",
        "Please update my phone number to {phone} for delivery notifications.",
    ],
    "returns": [
        "I would like to return the {product}, it doesn't fit my needs. Order {order}.",
        "How do I get a return label for order {order}?",
        "I sent the {product} back {days} days ago and still have no refund.",
        "The replacement {product} has the same fault as the first one. I want my money back.",
        "Can I exchange the {product} for a different colour?",
        "Is the 30 day return window from the order date or the delivery date?",
        "Return for order {order} was received according to {carrier} but the status did not change.",
    ],
    "product_question": [
        "Does the {product} work with Apple Home / HomeKit?",
        "Is the {product} compatible with a 5 GHz only network?",
        "What is the warranty on the {product}?",
        "Can the Thermo One control underfloor heating?",
        "Do I need a Brightline Plus subscription to see Doorly recordings?",
        "How many Lumo bulbs can one Brightline Hub handle?",
        "Is the {product} waterproof? I want to use it on the balcony.",
        "Does the Aero sensor measure humidity as well?",
        "What's the difference between the Lumo bulb and the Lumo strip?",
    ],
}
SUBJECTS = {
    "billing": ["Double charge", "Refund", "Invoice request", "Payment problem", "Subscription charge", "billing question"],
    "shipping": ["Where is my order", "Late delivery", "Damaged package", "Change address", "Tracking"],
    "technical": ["Device offline", "Firmware update failed", "App crash", "Pairing problem", "Not working!!", "wifi issue"],
    "account": ["Login problem", "Delete account", "Change email", "Account locked", "2FA"],
    "returns": ["Return request", "Refund for return", "Exchange", "Return label"],
    "product_question": ["Question", "Compatibility", "Warranty", "Before I buy"],
}
GREETINGS = ["Hi", "Hello", "Dear Brightline team", "Hey", "Good morning", "Hallo", "hi there", "To whom it may concern", ""]
CLOSINGS = ["Thanks", "Thank you", "Regards", "Best regards", "Cheers", "thx", "Kind regards", ""]
CONTEXT = ["I bought it {days} days ago.", "This is my second {product}.", "I'm on Android 14.", "I use an iPhone 15.",
           "We have three of them in the house.", "It worked fine until last week.", "My order number is {order}.",
           "I already restarted everything twice.", "My neighbour has the same problem.", "I contacted you before about this.",
           "It's a gift for my parents.", "I live in a flat with thick walls.", "The device is about a year old."]
URGENT = ["Please help!", "This is urgent.", "Please answer ASAP", "I am really frustrated.", "Waiting for your reply."]


def typo(word):
    if len(word) < 4 or not word.isalpha():
        return word
    i = r.randrange(1, len(word) - 1)
    k = r.random()
    if k < 0.35:
        return word[:i] + word[i + 1] + word[i] + word[i + 2:]  # swap
    if k < 0.6:
        return word[:i] + word[i + 1:]                          # drop
    if k < 0.8:
        return word[:i] + word[i] + word[i:]                    # double
    return word[:i] + r.choice("aeiourstn") + word[i + 1:]       # replace


def messy(text):
    words = text.split(" ")
    rate = r.choice([0.0, 0.0, 0.02, 0.04, 0.08])
    words = [typo(w) if r.random() < rate else w for w in words]
    text = " ".join(words)
    k = r.random()
    if k < 0.15:
        text = text.lower()
    elif k < 0.18:
        text = text.upper()
    if r.random() < 0.2:
        text = text.replace(". ", ".  ", 1)
    if r.random() < 0.15:
        text = "  " + text
    if r.random() < 0.1:
        text = text + " \n"
    return text


def compose(cat, customer, channel):
    body, product = slot(r.choice(BODIES[cat]), customer)
    parts = []
    g = r.choice(GREETINGS)
    if g and channel in ("email", "web_form"):
        parts.append(g + ("," if r.random() < 0.7 else ""))
    parts.append(body)
    if r.random() < 0.5:
        ctx, _ = slot(r.choice(CONTEXT), customer)
        if r.random() < 0.5:
            parts[-1] = parts[-1] + " " + ctx
        else:
            parts.insert(len(parts) - 1, ctx)
    if r.random() < 0.25:
        parts.append(r.choice(URGENT))
    if channel == "email" and r.random() < 0.5:
        c = r.choice(CLOSINGS)
        sig = [c] if c else []
        sig.append(customer["name"])
        if r.random() < 0.6:
            sig.append(customer["phone"] if r.random() < 0.5 else customer["email"])
        parts.append("\n".join(sig))
    elif channel == "chat" and r.random() < 0.3:
        parts.append(f"you can reach me at {customer['email']}")
    elif r.random() < 0.08:
        parts.append(f"Call me on {customer['phone']}.")
    sep = "\n\n" if channel == "email" else " "
    text = messy(sep.join(parts))
    if channel == "email" and r.random() < 0.12:
        # pasted from an HTML mail client
        text = "<div>" + text.replace("\n\n", "</div><div>").replace("\n", "<br>") + "</div>"
        text = text.replace(" ", "&nbsp;", 1)
    if r.random() < 0.03:
        text += " See https://brightline.example/orders for details."
    return text, product


def main():
    customers = []
    for i in range(950):
        first, last = r.choice(FIRST), r.choice(LAST)
        handle = f"{first}.{last}".lower().replace("é", "e").replace("í", "i").replace("ü", "u").replace("ö", "o").replace("'", "")
        customers.append({
            "id": f"C{10000 + i}",
            "name": f"{first} {last}",
            "email": f"{handle}{r.choice(['', str(r.randint(1, 99))])}@{r.choice(DOMAINS)}",
            "phone": phone(),
        })
    # some customers write a lot
    weights = [r.paretovariate(1.6) for _ in customers]
    rows = []
    ticket = 240000
    while len(rows) < N_TICKETS:
        cust = r.choices(customers, weights)[0]
        cat = r.choices(CATEGORIES, CAT_WEIGHTS)[0]
        channel = r.choices(CHANNELS, [0.45, 0.3, 0.2, 0.05])[0]
        month, day = r.randint(1, 12), r.randint(1, 28)
        hour, minute = r.randint(7, 22), r.randint(0, 59)
        text, product = compose(cat, cust, channel)
        ticket += r.randint(1, 3)
        priority = r.choices(["low", "normal", "high", "urgent"], [0.25, 0.5, 0.18, 0.07])[0]
        subject = r.choice(SUBJECTS[cat])
        row = {
            "ticket_id": ticket, "customer_id": cust["id"], "created_at": f"2024-{month:02d}-{day:02d} {hour:02d}:{minute:02d}",
            "channel": channel, "product": product if cat in ("technical", "returns", "product_question") else "",
            "subject": subject, "message": text, "category": cat, "priority": priority,
        }
        rows.append(row)
        k = r.random()
        if k < 0.03:
            # the same ticket submitted again a minute later
            dup = dict(row)
            ticket += 1
            dup["ticket_id"] = ticket
            dup["created_at"] = row["created_at"][:-2] + f"{min(59, minute + 1):02d}"
            rows.append(dup)
        elif k < 0.08:
            # a follow-up that repeats the message with small changes
            fu = dict(row)
            ticket += 1
            fu["ticket_id"] = ticket
            fu["created_at"] = f"2024-{month:02d}-{min(28, day + r.randint(1, 5)):02d} {hour:02d}:{minute:02d}"
            variant = r.random()
            if variant < 0.4:
                fu["message"] = text.rstrip() + " " + r.choice(["Any update?", "Still waiting!!", "Hello??", "Please reply."])
            elif variant < 0.7:
                fu["message"] = r.choice(["Second time writing: ", "RE: ", "Follow-up - "]) + text.strip()
            else:
                fu["message"] = text.strip().lower()
            fu["subject"] = "Re: " + row["subject"]
            rows.append(fu)
    rows = rows[:N_TICKETS]
    # missing values and label noise, the way exports have them
    for row in rows:
        if r.random() < 0.01:
            row["message"] = ""
        if r.random() < 0.03:
            row["category"] = ""
        elif r.random() < 0.02:
            row["category"] = r.choice([row["category"].capitalize(), " " + row["category"], row["category"].upper()])
        if r.random() < 0.02:
            row["channel"] = ""
        if r.random() < 0.1:
            row["subject"] = ""
        if r.random() < 0.04:
            row["priority"] = ""
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0].keys()), lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
    print(f"wrote {OUT}: {len(rows)} tickets, {os.path.getsize(OUT)} bytes")


if __name__ == "__main__":
    main()
