# Writes the REPLY corpus (.eml) beside this file: run with python3 from this folder. The messages follow the
# structure of real Outlook/Exchange, Gmail and Apple Mail replies (headers, MIME layout, encodings), with test addresses.
import base64, hashlib, hmac, textwrap

# The UIDs of the invitations these messages answer: each attendee's copy carries its own token, HMAC-SHA256 under the
# server's key (here the test key of Samples.Uids: bytes 0 to 31) over a domain label, the interview id and the
# attendee's address, truncated to 160 bits (Messaging.Scheduling's InvitationUids; a unit test pins the same values).
KEY = bytes(range(32))
INTERVIEW = "44444444444444444444444444444444"


def attendee_uid(address, interview=INTERVIEW):
    token = hmac.new(KEY, f"messaging.interview-uid.attendee.v1\n{interview}\n{address}".encode(), hashlib.sha256).digest()[:20]
    return f"{interview}.{token.hex()}@interviews.messaging"


def person_uid(interview=INTERVIEW):
    token = hmac.new(KEY, f"messaging.interview-uid.person.v1\n{interview}".encode(), hashlib.sha256).digest()[:20]
    return f"{token.hex()}@interviews.messaging"


WORKER_UID = attendee_uid("worker@safer.example")
AJ_UID = attendee_uid("aj@mj-liege.example")
# The one UID every copy carried before replies were authenticated (the person's copy gave it away as "<id>-p@…").
LEGACY_UID = f"{INTERVIEW}@interviews.messaging"
NL = "\r\n"


def crlf(s):
    return s.replace("\r\n", "\n").replace("\n", "\r\n")


def fold(s):
    """RFC 5545 §3.1 line folding as Exchange does it: lines over 75 characters continue on the next after a space."""
    out = []
    for line in s.split(NL):
        while len(line) > 75:
            out.append(line[:75])
            line = " " + line[75:]
        out.append(line)
    return NL.join(out)


def b64(s):
    return NL.join(textwrap.wrap(base64.b64encode(s.encode()).decode(), 76))


OUTLOOK_TEXT = b64("Accepté" + NL)
GMAIL_TEXT = b64("aj@mj-liege.example a refusé cette invitation." + NL)

outlook_ics = fold(crlf(f"""BEGIN:VCALENDAR
METHOD:REPLY
PRODID:Microsoft Exchange Server 2010
VERSION:2.0
BEGIN:VTIMEZONE
TZID:Romance Standard Time
BEGIN:STANDARD
DTSTART:16010101T030000
TZOFFSETFROM:+0200
TZOFFSETTO:+0100
RRULE:FREQ=YEARLY;INTERVAL=1;BYDAY=-1SU;BYMONTH=10
END:STANDARD
BEGIN:DAYLIGHT
DTSTART:16010101T020000
TZOFFSETFROM:+0100
TZOFFSETTO:+0200
RRULE:FREQ=YEARLY;INTERVAL=1;BYDAY=-1SU;BYMONTH=3
END:DAYLIGHT
END:VTIMEZONE
BEGIN:VEVENT
ATTENDEE;PARTSTAT=ACCEPTED;CN=Worker SAFER:mailto:Worker@safer.example
SUMMARY;LANGUAGE=fr-BE:Accepté: Entretien – CAPREV – réf. ABCDEFGHIJKLMNOPQRSTUVWXYA
DTSTART;TZID=Romance Standard Time:20270326T100000
DTEND;TZID=Romance Standard Time:20270326T110000
UID:{WORKER_UID}
CLASS:PUBLIC
PRIORITY:5
DTSTAMP:20270302T091500Z
TRANSP:OPAQUE
SEQUENCE:0
LOCATION;LANGUAGE=fr-BE:Rue de la Loi 1, 1000 Bruxelles
X-MICROSOFT-CDO-APPT-SEQUENCE:0
X-MICROSOFT-CDO-OWNERAPPTID:-1
X-MICROSOFT-CDO-BUSYSTATUS:BUSY
X-MICROSOFT-CDO-INTENDEDSTATUS:BUSY
X-MICROSOFT-CDO-ALLDAYEVENT:FALSE
X-MICROSOFT-CDO-IMPORTANCE:1
X-MICROSOFT-CDO-INSTTYPE:0
X-MICROSOFT-DISALLOW-COUNTER:FALSE
END:VEVENT
END:VCALENDAR
"""))
OUTLOOK_ICS = b64(outlook_ics)
outlook = crlf(f"""Received: from EX01.safer.example (10.0.0.5) by EX02.safer.example
 (10.0.0.6) with Microsoft SMTP Server id 15.1.2507.39; Tue, 2 Mar 2027 10:15:01 +0100
From: Worker SAFER <Worker@safer.example>
To: CAPREV <planning@messaging.example>
Subject: =?utf-8?Q?Accept=C3=A9=3A_Entretien_=E2=80=93_CAPREV?=
Thread-Topic: =?utf-8?Q?Accept=C3=A9=3A_Entretien_=E2=80=93_CAPREV?=
Date: Tue, 2 Mar 2027 09:15:00 +0000
Message-ID: <AM0PR01MB1234ABCD@AM0PR01MB1234.eurprd01.prod.exchangelabs.com>
Accept-Language: fr-BE, en-US
Content-Language: fr-BE
X-MS-Has-Attach:
X-MS-TNEF-Correlator:
MIME-Version: 1.0
Content-Type: multipart/alternative;
	boundary="_000_AM0PR01MB1234ABCD_"

--_000_AM0PR01MB1234ABCD_
Content-Type: text/plain; charset="utf-8"
Content-Transfer-Encoding: base64

{OUTLOOK_TEXT}

--_000_AM0PR01MB1234ABCD_
Content-Type: text/calendar; charset="utf-8"; method=REPLY
Content-Transfer-Encoding: base64

{OUTLOOK_ICS}

--_000_AM0PR01MB1234ABCD_--
""")
open("outlook-accept-without-organizer.eml", "w", newline="").write(outlook)


def gmail_decline(name, gmail_uid, message_id):
    gmail_ics = crlf(f"""BEGIN:VCALENDAR
PRODID:-//Google Inc//Google Calendar 70.9054//EN
VERSION:2.0
CALSCALE:GREGORIAN
METHOD:REPLY
BEGIN:VEVENT
DTSTART:20270326T090000Z
DTEND:20270326T100000Z
DTSTAMP:20270302T101010Z
ORGANIZER;CN=CAPREV:mailto:planning@messaging.example
UID:{gmail_uid}
ATTENDEE;CUTYPE=INDIVIDUAL;ROLE=REQ-PARTICIPANT;PARTSTAT=DECLINED;CN=aj@mj-liege.example;X-NUM-GUESTS=0:mailto:aj@mj-liege.example
CREATED:20270301T080000Z
LAST-MODIFIED:20270302T101010Z
LOCATION:Rue de la Loi 1\\, 1000 Bruxelles
SEQUENCE:0
STATUS:CONFIRMED
SUMMARY:Entretien - CAPREV - ref. ABCDEFGHIJKLMNOPQRSTUVWXYA
TRANSP:OPAQUE
END:VEVENT
END:VCALENDAR
""")
    gmail_ics_base64 = b64(gmail_ics)
    gmail = crlf(f"""MIME-Version: 1.0
Date: Tue, 02 Mar 2027 10:10:10 +0000
Message-ID: <{message_id}@mail.gmail.com>
Subject: =?UTF-8?Q?Refus=C3=A9_=3A_Entretien_=E2=80=93_CAPREV?=
From: aj@mj-liege.example
To: planning@messaging.example
Content-Type: multipart/mixed; boundary="000000000000gmailmixed"

--000000000000gmailmixed
Content-Type: multipart/alternative; boundary="000000000000gmailalt"

--000000000000gmailalt
Content-Type: text/plain; charset="UTF-8"; format=flowed; delsp=yes
Content-Transfer-Encoding: base64

{GMAIL_TEXT}
--000000000000gmailalt
Content-Type: text/html; charset="UTF-8"
Content-Transfer-Encoding: quoted-printable

<span>aj@mj-liege.example a refus=C3=A9 cette invitation.</span>
--000000000000gmailalt
Content-Type: text/calendar; charset="UTF-8"; method=REPLY
Content-Transfer-Encoding: 7bit

{gmail_ics}
--000000000000gmailalt--
--000000000000gmailmixed
Content-Type: application/ics; name="invite.ics"
Content-Disposition: attachment; filename="invite.ics"
Content-Transfer-Encoding: base64

{gmail_ics_base64}
--000000000000gmailmixed--
""")
    open(name + ".eml", "w", newline="").write(gmail)


gmail_decline("gmail-decline", AJ_UID, "CAF=gmail-reply-0001")
# The same answer to an invitation sent before replies were authenticated: its UID has no token, so it is refused (the
# organiser reschedules, which sends every invitee a copy with their own UID).
gmail_decline("gmail-decline-to-a-legacy-invitation", LEGACY_UID, "CAF=gmail-reply-0002")

apple_ics = crlf(f"""BEGIN:VCALENDAR
METHOD:REPLY
PRODID:-//Apple Inc.//iPhone 17.4//EN
VERSION:2.0
BEGIN:VTIMEZONE
TZID:Europe/Brussels
BEGIN:DAYLIGHT
DTSTART:19810329T020000
RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU
TZNAME:UTC+2
TZOFFSETFROM:+0100
TZOFFSETTO:+0200
END:DAYLIGHT
BEGIN:STANDARD
DTSTART:19961027T030000
RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU
TZNAME:UTC+1
TZOFFSETFROM:+0200
TZOFFSETTO:+0100
END:STANDARD
END:VTIMEZONE
BEGIN:VEVENT
ATTENDEE;CN=worker@safer.example;CUTYPE=INDIVIDUAL;EMAIL=worker@safer.example;PARTSTAT=TENTATIVE;ROLE=REQ-PARTICIPANT:mailto:worker@safer.example
DTEND;TZID=Europe/Brussels:20270326T110000
DTSTAMP:20270302T120000Z
DTSTART;TZID=Europe/Brussels:20270326T100000
ORGANIZER;CN=CAPREV;EMAIL=planning@messaging.example:mailto:planning@messaging.example
REQUEST-STATUS:2.0;Success
SEQUENCE:0
SUMMARY:Entretien – CAPREV – réf. ABCDEFGHIJKLMNOPQRSTUVWXYA
UID:{WORKER_UID}
END:VEVENT
END:VCALENDAR
""")
import quopri
APPLE_QP = quopri.encodestring(apple_ics.encode("utf-8")).decode("ascii").replace("\r\n", "\n").replace("=0D\n", "\n")
apple = crlf(f"""Content-Type: multipart/mixed; boundary=Apple-Mail-1A2B3C4D
Mime-Version: 1.0 (1.0)
Subject: =?utf-8?Q?Invitation_:_provisoire?=
From: worker@safer.example
Date: Tue, 2 Mar 2027 13:00:00 +0100
Message-Id: <8F1E2D3C-APPLE-0001@safer.example>
To: planning@messaging.example
X-Mailer: iPhone Mail (21E219)

--Apple-Mail-1A2B3C4D
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: quoted-printable

worker@safer.example a accept=C3=A9 provisoirement.

--Apple-Mail-1A2B3C4D
Content-Type: text/calendar; charset=utf-8; method=REPLY; name=iCal-20270302-120000.ics
Content-Disposition: attachment; filename=iCal-20270302-120000.ics
Content-Transfer-Encoding: quoted-printable

{APPLE_QP}
--Apple-Mail-1A2B3C4D--
""")
open("apple-tentative.eml", "w", newline="").write(apple)

forwarded = crlf(f"""From: Secretariat SAFER <secretariat@safer.example>
To: planning@messaging.example
Subject: =?utf-8?Q?TR=3A_Accept=C3=A9=3A_Entretien?=
Date: Tue, 2 Mar 2027 14:00:00 +0100
Message-ID: <fwd-0001@safer.example>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="fwd-boundary"

--fwd-boundary
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: 8bit

Réponse transmise de la part de notre collègue.

--fwd-boundary
Content-Type: message/rfc822
Content-Disposition: attachment

{outlook}
--fwd-boundary--
""")
open("forwarded-reply-from-another-address.eml", "w", newline="").write(forwarded)


def simple(name, attendees, seq, uid=WORKER_UID, method="REPLY", start="20270326T090000Z", end="20270326T100000Z", times=None,
           sender="someone@example.org"):
    times = times or f"DTSTART:{start}\nDTEND:{end}"
    ics = crlf(f"""BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//Test//Mailer//EN
METHOD:{method}
BEGIN:VEVENT
UID:{uid}
SEQUENCE:{seq}
DTSTAMP:20270302T090000Z
{times}
{attendees}
END:VEVENT
END:VCALENDAR
""")
    msg = crlf(f"""From: {sender}
To: planning@messaging.example
Subject: Reply
Date: Tue, 2 Mar 2027 09:00:00 +0000
Message-ID: <{name}@example.org>
MIME-Version: 1.0
Content-Type: text/calendar; charset=utf-8; method={method}

{ics}""")
    open(name + ".eml", "w", newline="").write(msg)


simple("non-invitee", "ATTENDEE;PARTSTAT=ACCEPTED:mailto:intruder@evil.example", 0)
simple("stale-sequence", "ATTENDEE;PARTSTAT=DECLINED:mailto:worker@safer.example", 0)
simple("unknown-uid", "ATTENDEE;PARTSTAT=ACCEPTED:mailto:worker@safer.example", 0,
       uid=attendee_uid("worker@safer.example", "ffffffffffffffffffffffffffffffff"))
simple("two-attendees", "ATTENDEE;PARTSTAT=ACCEPTED:mailto:worker@safer.example\nATTENDEE;PARTSTAT=ACCEPTED:mailto:aj@mj-liege.example", 0)
simple("counter-proposal", "ATTENDEE;PARTSTAT=TENTATIVE:mailto:worker@safer.example", 0, method="COUNTER",
       start="20270330T120000Z", end="20270330T130000Z")
# COUNTERs whose proposed time cannot be read (a client's own time zone name; an absurd length): refused as malformed,
# never an exception that would leave them in the inbox.
simple("counter-unknown-tzid", "ATTENDEE;PARTSTAT=TENTATIVE:mailto:worker@safer.example", 0, method="COUNTER",
       times="DTSTART;TZID=Foo/Bar:20270330T120000\nDTEND;TZID=Foo/Bar:20270330T130000")
simple("counter-absurd-duration", "ATTENDEE;PARTSTAT=TENTATIVE:mailto:worker@safer.example", 0, method="COUNTER",
       times="DTSTART:20270330T120000Z\nDURATION:P9999999W")
# Forgeries (the review of 2026-11-29, finding 1), each naming the justice assistant: with the UID of the person's
# copy (it names no interview); with the id-only UID the person's copy used to give away; by the worker, another
# invitee, with the UID of the worker's own copy (a REPLY and a COUNTER); and with a guessed token.
simple("forged-with-the-persons-uid", "ATTENDEE;PARTSTAT=DECLINED:mailto:aj@mj-liege.example", 0, uid=person_uid())
simple("forged-with-the-legacy-uid", "ATTENDEE;PARTSTAT=DECLINED:mailto:aj@mj-liege.example", 0, uid=LEGACY_UID)
simple("forged-by-another-invitee", "ATTENDEE;PARTSTAT=DECLINED:mailto:aj@mj-liege.example", 0, sender="worker@safer.example")
simple("counter-by-another-invitee", "ATTENDEE;PARTSTAT=TENTATIVE:mailto:aj@mj-liege.example", 0, method="COUNTER",
       start="20270330T120000Z", end="20270330T130000Z", sender="worker@safer.example")
simple("forged-with-a-guessed-token", "ATTENDEE;PARTSTAT=ACCEPTED:mailto:aj@mj-liege.example", 0,
       uid=f"{INTERVIEW}.9f2c41d07ab35e6c8d1f0a4b2e7c9d3f6a8b0c1e@interviews.messaging")
open("not-a-calendar.eml", "w", newline="").write(crlf("""From: worker@safer.example
To: planning@messaging.example
Subject: Question
Date: Tue, 2 Mar 2027 09:00:00 +0000
Message-ID: <plain-0001@safer.example>
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8

Bonjour, une question sans invitation.
"""))
