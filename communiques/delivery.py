"""The delivery ledger: every circulated message is a row, and the rows are the truth.

- `dispatch_create` inserts the dispatch and one delivery row per recipient in one transaction,
  then asks the broker (after commit) to work on it. If the broker is down, nothing is lost: the
  sweeper finds the due rows later.
- A worker claims a batch of due rows (`FOR UPDATE SKIP LOCKED` on PostgreSQL), sends them over one
  SMTP connection, and marks each one sent (one autocommitted UPDATE) right after the server
  accepted it. A crash can repeat at most the message in flight at that moment, per process.
- Each copy is made from the dispatch's message in the recipient's language, serialised once per
  worker process with its attachments; only the address, unsubscribe token, Message-ID and Date
  are filled in per recipient (see MessageTemplate).
- Transient failures (4xx, refused connection, timeout) go back to pending with exponential
  backoff; permanent ones (5xx) fail the delivery and mark the subscription bounced.
- The sweeper returns expired claims to pending and re-enqueues dispatches that have due rows.
"""

import logging
import re
import secrets
import smtplib
import time
from dataclasses import dataclass
from datetime import timedelta
from email import encoders
from email.mime.base import MIMEBase
from email.utils import formatdate, make_msgid, parseaddr
from functools import lru_cache

from django.conf import settings
from django.core import mail, signing
from django.core.mail.backends.smtp import EmailBackend as SmtpBackend
from django.core.mail.message import sanitize_address
from django.core.mail.utils import DNS_NAME
from django.db import connection, transaction
from django.db.models import Count, Q, QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from .models import Delivery, Dispatch, MailingList, Subscription

logger = logging.getLogger(__name__)

UNSUBSCRIBE_PLACEHOLDER = "@@UNSUBSCRIBE_URL@@"
PREFERENCES_PLACEHOLDER = "@@PREFERENCES_URL@@"
UNSUBSCRIBE_SALT = "communiques.unsubscribe"


# --- Tokens and links --------------------------------------------------------------------------


def unsubscribe_token(*, subscriber_id: int, mailing_list: str) -> str:
    """Return a signed token naming one subscriber and one list. It does not expire: an old
    message's unsubscribe link must keep working."""
    return signing.dumps({"s": subscriber_id, "l": mailing_list}, salt=UNSUBSCRIBE_SALT, compress=True)


def unsubscribe_token_read(token: str) -> tuple[int, str]:
    """Return (subscriber id, list) from a token; raise signing.BadSignature if it was tampered with."""
    data = signing.loads(token, salt=UNSUBSCRIBE_SALT)
    return int(data["s"]), str(data["l"])


def absolute_url(path: str) -> str:
    return settings.SITE_URL.rstrip("/") + path


# --- Creating a dispatch -----------------------------------------------------------------------


@transaction.atomic
def dispatch_create(
    *,
    kind: str,
    mailing_list: str,
    subject: str,
    body_text: str,
    body_html: str,
    recipients,
    edition=None,
    communiques=(),
    slot_key: str | None = None,
    include_csv: bool = False,
    include_xlsx: bool = False,
    user=None,
    translations: dict | None = None,
) -> Dispatch:
    """Record a dispatch and one pending delivery per recipient subscription, then enqueue it.

    `recipients` is a queryset of active Subscriptions. Raises IntegrityError when `slot_key` was
    already used (the caller treats that as "already circulated").
    """
    dispatch = Dispatch.objects.create(
        kind=kind,
        mailing_list=mailing_list,
        subject=subject,
        body_text=body_text,
        body_html=body_html,
        translations=translations or {},
        edition=edition,
        slot_key=slot_key,
        include_csv=include_csv,
        include_xlsx=include_xlsx,
        created_by=user,
    )
    if communiques:
        dispatch.communiques.set(communiques)
    now = timezone.now()
    rows = (
        Delivery(dispatch=dispatch, subscriber_id=subscriber_id, email=email, next_attempt_at=now)
        for subscriber_id, email in recipients.values_list("subscriber_id", "subscriber__email").iterator()
    )
    Delivery.objects.bulk_create(rows, batch_size=2000)
    if not dispatch.deliveries.exists():
        dispatch.completed_at = now
        dispatch.save(update_fields=["completed_at"])
    else:
        transaction.on_commit(
            lambda: dispatch_enqueue(dispatch_id=dispatch.pk, parallel=settings.DELIVERY_PARALLEL_TASKS)
        )
    return dispatch


def dispatch_enqueue(*, dispatch_id: int, parallel: int = 1) -> bool:
    """Ask workers to process the dispatch. Returns False if the broker could not be reached; the
    sweeper will enqueue it later, so this never raises."""
    from .tasks import dispatch_process

    try:
        for _ in range(max(1, parallel)):
            dispatch_process.apply_async(args=[dispatch_id], retry=False)
    except Exception:  # the broker is down or unreachable: the rows stay due and the sweeper retries
        logger.warning("Could not enqueue dispatch %s; the sweeper will pick it up.", dispatch_id, exc_info=True)
        return False
    return True


@transaction.atomic
def dispatch_retry_failed(*, dispatch: Dispatch) -> int:
    """Put the dispatch's failed deliveries back in the queue, except to bounced addresses."""
    bounced = Subscription.objects.filter(
        mailing_list=dispatch.mailing_list,
        state=Subscription.State.BOUNCED,
    ).values("subscriber_id")
    count = (
        dispatch.deliveries.filter(status=Delivery.Status.FAILED)
        .exclude(subscriber_id__in=bounced)
        .update(status=Delivery.Status.PENDING, next_attempt_at=timezone.now(), attempts=0, last_error="")
    )
    if count:
        Dispatch.objects.filter(pk=dispatch.pk).update(completed_at=None)
        transaction.on_commit(lambda: dispatch_enqueue(dispatch_id=dispatch.pk))
    return count


# --- Sending -----------------------------------------------------------------------------------


def due_deliveries(*, dispatch_id: int, now) -> QuerySet:
    """Return the dispatch's due deliveries, longest due first, in the order of an index on
    (status, next_attempt_at), so that taking a batch reads that batch and stops.

    Not also ordered by pk: no index has that order, so PostgreSQL sorted every due row of the
    dispatch for every batch, about 0.1 s per batch at 100,000 recipients (docs/performance.md).
    """
    return Delivery.objects.filter(
        dispatch_id=dispatch_id, status=Delivery.Status.PENDING, next_attempt_at__lte=now
    ).order_by("next_attempt_at")


def _claim(*, dispatch_id: int, batch_size: int) -> list[Delivery]:
    """Take up to `batch_size` due deliveries for this worker alone, leased for a while."""
    now = timezone.now()
    with transaction.atomic():
        # SKIP LOCKED lets parallel workers take disjoint batches. SQLite has no row locks, but its
        # IMMEDIATE transactions serialise this block, which is as safe for a single machine.
        rows = list(
            due_deliveries(dispatch_id=dispatch_id, now=now)
            .select_for_update(skip_locked=True)
            .select_related("subscriber")[:batch_size]
        )
        if rows:
            Delivery.objects.filter(pk__in=[row.pk for row in rows], status=Delivery.Status.PENDING).update(
                status=Delivery.Status.CLAIMED,
                claimed_until=now + timedelta(seconds=settings.DELIVERY_CLAIM_LEASE_SECONDS),
            )
    return rows


def retry_delay(attempts: int) -> timedelta:
    """Exponential backoff: base, 2×base, 4×base … capped."""
    seconds = settings.DELIVERY_RETRY_BASE_SECONDS * (2 ** max(0, attempts - 1))
    return timedelta(seconds=min(seconds, settings.DELIVERY_RETRY_MAX_SECONDS))


@dataclass
class Failure:
    permanent: bool
    reason: str
    connection_lost: bool = False


def classify_failure(exc: Exception) -> Failure:
    """Tell a permanent refusal (5xx: the address will never work) from a passing problem."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in exc.recipients.values()]
        reason = "; ".join(
            f"{code} {msg.decode(errors='replace') if isinstance(msg, bytes) else msg}"
            for code, msg in exc.recipients.values()
        )
        # 421 means the server is closing the connection (smtplib has already closed it).
        return Failure(
            permanent=bool(codes) and all(code >= 500 for code in codes), reason=reason, connection_lost=421 in codes
        )
    if isinstance(exc, smtplib.SMTPSenderRefused):
        # Our own sender address was refused: a configuration problem, not the recipient's.
        return Failure(permanent=False, reason=f"{exc.smtp_code} sender refused: {exc.smtp_error!r}")
    if isinstance(exc, smtplib.SMTPResponseException):
        message = exc.smtp_error.decode(errors="replace") if isinstance(exc.smtp_error, bytes) else str(exc.smtp_error)
        return Failure(
            permanent=exc.smtp_code >= 500, reason=f"{exc.smtp_code} {message}", connection_lost=exc.smtp_code == 421
        )
    if isinstance(exc, smtplib.SMTPServerDisconnected | OSError):
        return Failure(permanent=False, reason=f"connection: {exc}", connection_lost=True)
    return Failure(permanent=False, reason=f"{type(exc).__name__}: {exc}")


def _mark_sent(delivery: Delivery, *, cursor=None) -> None:
    """Record that the server accepted the delivery: one UPDATE in autocommit, committed when this
    returns. Called right after each "250 OK", so a crash repeats at most the message in between.

    Plain SQL, on the batch's `cursor` when given, because this runs once per message: the ORM spent
    0.4 to 0.6 ms of CPU building this UPDATE, more than PostgreSQL takes to run it
    (docs/performance.md).
    """
    sent_at = connection.ops.adapt_datetimefield_value(timezone.now())
    params = [Delivery.Status.SENT.value, sent_at, delivery.pk, Delivery.Status.CLAIMED.value]
    if cursor is not None:
        cursor.execute(_MARK_SENT_SQL, params)
        return
    with connection.cursor() as own:
        own.execute(_MARK_SENT_SQL, params)


# The table name is the model's own; every value is a parameter.
_MARK_SENT_SQL = (
    f"UPDATE {Delivery._meta.db_table} SET status = %s, sent_at = %s, attempts = attempts + 1, "  # noqa: S608
    "claimed_until = NULL, last_error = '' WHERE id = %s AND status = %s"
)


def _mark_failed(delivery: Delivery, failure: Failure, *, mailing_list: str) -> None:
    attempts = delivery.attempts + 1
    now = timezone.now()
    with transaction.atomic():
        if failure.permanent or attempts >= settings.DELIVERY_MAX_ATTEMPTS:
            Delivery.objects.filter(pk=delivery.pk).update(
                status=Delivery.Status.FAILED,
                attempts=attempts,
                last_error=failure.reason[:2000],
                claimed_until=None,
            )
            if failure.permanent:
                Subscription.objects.filter(subscriber_id=delivery.subscriber_id).exclude(
                    state=Subscription.State.UNSUBSCRIBED
                ).update(state=Subscription.State.BOUNCED, bounced_at=now, last_error=failure.reason[:2000])
        else:
            Delivery.objects.filter(pk=delivery.pk).update(
                status=Delivery.Status.PENDING,
                attempts=attempts,
                last_error=failure.reason[:2000],
                next_attempt_at=now + retry_delay(attempts),
                claimed_until=None,
            )


def _release(deliveries: list[Delivery], *, delay: timedelta, reason: str) -> None:
    """Give claimed rows back untried (the server went away mid-batch)."""
    if deliveries:
        Delivery.objects.filter(pk__in=[d.pk for d in deliveries], status=Delivery.Status.CLAIMED).update(
            status=Delivery.Status.PENDING,
            next_attempt_at=timezone.now() + delay,
            claimed_until=None,
            last_error=reason[:2000],
        )


def mime_attachment(filename: str, content: bytes, mimetype: str) -> MIMEBase:
    """Return a ready-encoded MIME part; one part object can be attached to many messages."""
    maintype, subtype = mimetype.split("/", 1)
    part = MIMEBase(maintype, subtype)
    part.set_payload(content)
    encoders.encode_base64(part)
    part.add_header("Content-Disposition", "attachment", filename=filename)
    return part


def message_language(dispatch: Dispatch, preferred: str | None) -> str:
    """The language a recipient reads the dispatch in: their preferred one when the dispatch was
    rendered in it, the default language otherwise. Text and files follow the same choice."""
    if preferred and preferred in (dispatch.translations or {}):
        return preferred
    return settings.LANGUAGE_CODE


@lru_cache(maxsize=6)
def _attachments(dispatch_id: int, language: str) -> tuple[MIMEBase, ...]:
    """Read and encode the dispatch's attachments once per worker process and language, not once per
    recipient (for messages built one by one; see _message_template for the usual path)."""
    from .messages import dispatch_attachments

    dispatch = Dispatch.objects.select_related("edition").get(pk=dispatch_id)
    return tuple(mime_attachment(*item) for item in dispatch_attachments(dispatch, language))


def _message(
    dispatch: Dispatch, *, language: str, to: str, token: str, attachments, headers: dict | None = None
) -> mail.EmailMultiAlternatives:
    unsubscribe_url = absolute_url(reverse("communiques:unsubscribe", kwargs={"token": token}))
    preferences_url = absolute_url(reverse("communiques:preferences", kwargs={"token": token}))
    version = (dispatch.translations or {}).get(language) if language != settings.LANGUAGE_CODE else None
    subject = version["subject"] if version else dispatch.subject
    body_text = version["text"] if version else dispatch.body_text
    body_html = version["html"] if version else dispatch.body_html
    text = body_text.replace(UNSUBSCRIBE_PLACEHOLDER, unsubscribe_url).replace(
        PREFERENCES_PLACEHOLDER, preferences_url
    )
    html = body_html.replace(UNSUBSCRIBE_PLACEHOLDER, escape(unsubscribe_url)).replace(
        PREFERENCES_PLACEHOLDER, escape(preferences_url)
    )
    mailto = f"mailto:{settings.UNSUBSCRIBE_MAILBOX}?subject=unsubscribe%20{token}"
    list_id = f"{dispatch.mailing_list}.{settings.LIST_ID_DOMAIN}"
    message = mail.EmailMultiAlternatives(
        subject=subject,
        body=text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[to],
        headers={
            **(headers or {}),
            "List-Unsubscribe": f"<{unsubscribe_url}>, <{mailto}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            "List-Id": f"{MailingList(dispatch.mailing_list).label} <{list_id}>",
            "X-CTC-Dispatch": str(dispatch.pk),
            "Auto-Submitted": "auto-generated",
        },
    )
    message.attach_alternative(html, "text/html")
    for part in attachments:
        message.attach(part)
    return message


def build_message(dispatch: Dispatch, delivery: Delivery, attachments) -> mail.EmailMultiAlternatives:
    """Return the dispatch's message for one recipient, in their language: only the unsubscribe links
    differ. `attachments` are the dispatch's MIME parts in that language (see _attachments)."""
    return _message(
        dispatch,
        language=message_language(dispatch, delivery.subscriber.preferred_language),
        to=delivery.email,
        token=unsubscribe_token(subscriber_id=delivery.subscriber_id, mailing_list=dispatch.mailing_list),
        attachments=attachments,
    )


# --- Pre-serialised messages ---------------------------------------------------------------------
# Serialising a MIME message with the email package (header folding and encoding, boundaries, the
# attachments) cost more than everything else a worker does per recipient. Every copy of a dispatch
# in one language is the same bytes but for four values, so the message is serialised once, with a
# random sentinel in place of each value, and cut into literal segments around them. A recipient's
# copy is the segments joined with their address, token, Message-ID and Date. This holds only when
# the sentinels come out of the email package verbatim, which _message_template checks; otherwise,
# and for any address the plain form below does not cover, the message is built one by one.

_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
# An ASCII dot-atom address: Django's sanitize_address leaves it unchanged, in headers and envelope.
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
PLAIN_ADDRESS = re.compile(rf"{_ATOM}(?:\.{_ATOM})*@{_LABEL}(?:\.{_LABEL})*")
SMTP_LINE_LIMIT = 998  # octets per line, without CRLF (RFC 5322 2.1.1)


@dataclass(frozen=True)
class MessageTemplate:
    """A dispatch's message in one language as it goes on the wire, with four slots to fill."""

    envelope_sender: str  # the bare address smtplib would put in MAIL FROM (parsed here once, not per message)
    segments: tuple  # literal bytes, and slot names ("to", "token", "message_id", "date") between them
    token_limit: int  # a longer token would push a line past SMTP_LINE_LIMIT: build that message alone

    def render(self, **values: str) -> bytes:
        encoded = {name: value.encode("ascii") for name, value in values.items()}
        return b"".join(part if isinstance(part, bytes) else encoded[part] for part in self.segments)


def _sentinel(length: int) -> str:
    # Letters and digits only: it survives URL reversing, HTML escaping and header folding unchanged.
    return ("s" + secrets.token_hex(length))[:length]


@lru_cache(maxsize=6)
def _message_template(dispatch_id: int, language: str) -> MessageTemplate | None:
    """Serialise the dispatch's message in `language` once per worker process; None if its copies
    cannot be made by filling slots (then each is built one by one)."""
    from .messages import dispatch_attachments

    dispatch = Dispatch.objects.select_related("edition").get(pk=dispatch_id)
    attachments = [mime_attachment(*item) for item in dispatch_attachments(dispatch, language)]
    # Sentinels as long as real values, so that the email package folds headers as it would for them.
    sample_token = unsubscribe_token(subscriber_id=10**9, mailing_list=dispatch.mailing_list)
    sentinels = {
        "token": _sentinel(len(sample_token)),
        "to": f"{_sentinel(24)}@example.invalid",
        "message_id": f"<{_sentinel(40)}@example.invalid>",
        "date": _sentinel(31),
    }
    message = _message(
        dispatch, language=language, to=sentinels["to"], token=sentinels["token"], attachments=attachments,
        headers={"Date": sentinels["date"], "Message-ID": sentinels["message_id"]},
    )
    mime = message.message()
    # Bodies must go out as they are (7bit or 8bit): quoted-printable would wrap or encode a sentinel.
    for part in mime.walk():
        if part.get_content_maintype() == "text" and part.get_filename() is None:
            if str(part.get("Content-Transfer-Encoding", "7bit")).lower() not in ("7bit", "8bit"):
                return None
    data = mime.as_bytes(linesep="\r\n")
    # The two in List-Unsubscribe, and one in every link of both bodies.
    expected_tokens = 2 + message.body.count(sentinels["token"]) + message.alternatives[0][0].count(sentinels["token"])
    slot_of = {value.encode("ascii"): name for name, value in sentinels.items()}
    pieces = re.split(b"(" + b"|".join(re.escape(value) for value in slot_of) + b")", data)
    found = [slot_of[piece] for piece in pieces[1::2]]
    if found.count("token") != expected_tokens or any(found.count(name) != 1 for name in ("to", "message_id", "date")):
        return None
    # How long a token may be before some line holding tokens passes the line limit.
    token_limit = len(sentinels["token"]) + SMTP_LINE_LIMIT
    for line in data.split(b"\r\n"):
        occurrences = line.count(sentinels["token"].encode("ascii"))
        if occurrences:
            token_limit = min(token_limit, len(sentinels["token"]) + (SMTP_LINE_LIMIT - len(line)) // occurrences)
    segments = tuple(piece if index % 2 == 0 else slot_of[piece] for index, piece in enumerate(pieces))
    envelope_sender = parseaddr(sanitize_address(message.from_email, message.encoding or settings.DEFAULT_CHARSET))[1]
    return MessageTemplate(envelope_sender=envelope_sender, segments=segments, token_limit=token_limit)


class _Sender:
    """Sends one batch's messages over one open connection, each from the pre-serialised template of
    its language when there is one, built one by one otherwise."""

    def __init__(self, dispatch: Dispatch, backend):
        self.dispatch = dispatch
        self.backend = backend
        # Raw bytes go straight to smtplib only through Django's SMTP backend (tests' locmem and
        # `make run`'s file backend get built messages).
        self.smtp = isinstance(backend, SmtpBackend)

    def send(self, delivery: Delivery) -> None:
        dispatch = self.dispatch
        language = message_language(dispatch, delivery.subscriber.preferred_language)
        token = unsubscribe_token(subscriber_id=delivery.subscriber_id, mailing_list=dispatch.mailing_list)
        template = _message_template(dispatch.pk, language) if self.smtp else None
        if (
            template is not None
            and self.backend.connection is not None
            and len(token) <= template.token_limit
            and PLAIN_ADDRESS.fullmatch(delivery.email)
        ):
            raw = template.render(
                to=delivery.email,
                token=token,
                message_id=make_msgid(domain=DNS_NAME),
                date=formatdate(localtime=settings.EMAIL_USE_LOCALTIME),
            )
            self.backend.connection.sendmail(template.envelope_sender, [delivery.email], raw)
            return
        message = _message(
            dispatch, language=language, to=delivery.email, token=token,
            attachments=_attachments(dispatch.pk, language),
        )
        self.backend.send_messages([message])


def _send_batch(dispatch: Dispatch, batch: list[Delivery]) -> None:
    backend = mail.get_connection(fail_silently=False)
    try:
        backend.open()
    except Exception as exc:  # noqa: BLE001 - any failure to connect is a transient one
        failure = classify_failure(exc)
        # Every row of the batch was attempted and failed: each counts an attempt and backs off, so a
        # server that stays down ends in "failed" after DELIVERY_MAX_ATTEMPTS rather than forever.
        failure.permanent = False
        for delivery in batch:
            _mark_failed(delivery, failure, mailing_list=dispatch.mailing_list)
        logger.warning("Dispatch %s: cannot reach the mail server: %s", dispatch.pk, failure.reason)
        return
    sender = _Sender(dispatch, backend)
    try:
        with connection.cursor() as cursor:  # one database cursor for the batch's "sent" marks
            for index, delivery in enumerate(batch):
                try:
                    sender.send(delivery)
                except Exception as exc:  # noqa: BLE001 - classified below, recorded on the row
                    failure = classify_failure(exc)
                    _mark_failed(delivery, failure, mailing_list=dispatch.mailing_list)
                    if failure.connection_lost:
                        _release(batch[index + 1 :], delay=retry_delay(delivery.attempts + 1), reason=failure.reason)
                        return
                    continue
                _mark_sent(delivery, cursor=cursor)
    finally:
        try:
            backend.close()
        except Exception:  # noqa: BLE001, S110 - closing a broken connection may fail too
            pass


def dispatch_process(*, dispatch_id: int, time_budget: float | None = None) -> int:
    """Send due deliveries of the dispatch, batch after batch, until none is due or the time
    budget is spent. Safe to run any number of times, in parallel: returns how many were tried."""
    try:
        dispatch = Dispatch.objects.get(pk=dispatch_id)
    except Dispatch.DoesNotExist:
        return 0
    budget = settings.DELIVERY_TASK_BUDGET_SECONDS if time_budget is None else time_budget
    started = time.monotonic()
    tried = 0
    while time.monotonic() - started < budget:
        batch = _claim(dispatch_id=dispatch_id, batch_size=settings.DELIVERY_BATCH_SIZE)
        if not batch:
            break
        _send_batch(dispatch, batch)
        tried += len(batch)
    else:
        # Out of time with work left: hand over to a fresh task rather than outlive the time limit.
        dispatch_enqueue(dispatch_id=dispatch_id)
    dispatch_refresh_completion(dispatch_id=dispatch_id)
    return tried


def dispatch_refresh_completion(*, dispatch_id: int) -> None:
    open_rows = Delivery.objects.filter(
        dispatch_id=dispatch_id, status__in=[Delivery.Status.PENDING, Delivery.Status.CLAIMED]
    )
    if not open_rows.exists():
        Dispatch.objects.filter(pk=dispatch_id, completed_at__isnull=True).update(completed_at=timezone.now())


def deliveries_sweep() -> dict:
    """Return expired claims to pending and re-enqueue every dispatch that has due deliveries.

    Covers a killed worker, a lost broker message, a restarted Redis, and a broker that was down
    when the dispatch was created.
    """
    now = timezone.now()
    with transaction.atomic():
        expired = Delivery.objects.filter(status=Delivery.Status.CLAIMED, claimed_until__lt=now).update(
            status=Delivery.Status.PENDING,
            claimed_until=None,
            next_attempt_at=now,
        )
    due = list(
        Delivery.objects.filter(status=Delivery.Status.PENDING, next_attempt_at__lte=now)
        .values_list("dispatch_id", flat=True)
        .distinct()
    )
    for dispatch_id in due:
        dispatch_enqueue(dispatch_id=dispatch_id)
    for dispatch_id in (
        Dispatch.objects.filter(completed_at__isnull=True).exclude(pk__in=due).values_list("pk", flat=True)
    ):
        dispatch_refresh_completion(dispatch_id=dispatch_id)
    return {"expired_claims": expired, "dispatches_enqueued": len(due)}


def dispatch_progress(dispatch: Dispatch) -> dict[str, int]:
    """Return counts of deliveries by status, in one query."""
    counts = dispatch.deliveries.aggregate(
        total=Count("pk"),
        pending=Count("pk", filter=Q(status=Delivery.Status.PENDING)),
        sending=Count("pk", filter=Q(status=Delivery.Status.CLAIMED)),
        sent=Count("pk", filter=Q(status=Delivery.Status.SENT)),
        failed=Count("pk", filter=Q(status=Delivery.Status.FAILED)),
    )
    return counts
