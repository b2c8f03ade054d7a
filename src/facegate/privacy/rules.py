"""The catalogue of compliance rules R-01…R-33 and the mechanism in facegate behind each.

The rule statements and sources are copied from ``docs/compliance-requirements.md`` (a test
compares them with the document). ``mechanism`` names what implements the rule;
``components`` lists the importable modules and classes it lives in (a test imports each),
and ``operator_duty`` says what software alone cannot show and stays the operator's job.

A test proves a rule by carrying ``@pytest.mark.rule("R-xx")``; the compliance report
(``privacy.compliance``) joins this catalogue with the results of those tests.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType


class RuleId(StrEnum):
    """Every rule id of the compliance requirements, exactly as the document spells it."""

    R01 = "R-01"
    R02 = "R-02"
    R03 = "R-03"
    R04 = "R-04"
    R05 = "R-05"
    R06 = "R-06"
    R07 = "R-07"
    R08 = "R-08"
    R10 = "R-10"
    R11 = "R-11"
    R12 = "R-12"
    R20 = "R-20"
    R21 = "R-21"
    R22 = "R-22"
    R23 = "R-23"
    R24 = "R-24"
    R25 = "R-25"
    R26 = "R-26"
    R27 = "R-27"
    R28 = "R-28"
    R30 = "R-30"
    R31 = "R-31"
    R32 = "R-32"
    R33 = "R-33"


class RuleGroup(StrEnum):
    """The document's sections."""

    NOTICE_AND_CONSENT = "Notice and consent"
    ALTERNATIVES = "Alternatives to the face"
    STORAGE = "Storage, security, retention, deletion"
    ACCOUNTABILITY = "Accountability"


@dataclass(frozen=True, slots=True)
class Rule:
    """One compliance rule and how facegate meets it."""

    id: RuleId
    group: RuleGroup
    #: A few words for tables.
    title: str
    #: The rule as the requirements document states it.
    statement: str
    #: The legal sources, as the document cites them.
    source: str
    #: What in facegate implements the rule.
    mechanism: str
    #: Dotted names (``package.module`` or ``package.module.Class``) the mechanism lives in.
    components: tuple[str, ...]
    #: What software cannot show and the operator must do; None when nothing remains.
    operator_duty: str | None = None


def parse_rule_id(text: str) -> RuleId:
    """The ``RuleId`` spelled exactly ``text`` (e.g. ``"R-20"``); ``ValueError`` otherwise."""
    try:
        return RuleId(text)
    except ValueError:
        known = ", ".join(rule_id.value for rule_id in RuleId)
        raise ValueError(f"unknown compliance rule id {text!r}; the rules are: {known}") from None


def _rule(
    rule_id: RuleId,
    group: RuleGroup,
    title: str,
    statement: str,
    source: str,
    mechanism: str,
    components: Iterable[str],
    operator_duty: str | None = None,
) -> Rule:
    return Rule(
        rule_id, group, title, statement, source, mechanism, tuple(components), operator_duty
    )


_N, _A, _S, _C = (
    RuleGroup.NOTICE_AND_CONSENT,
    RuleGroup.ALTERNATIVES,
    RuleGroup.STORAGE,
    RuleGroup.ACCOUNTABILITY,
)

_RULES = (
    _rule(
        RuleId.R01,
        _N,
        "Processing rules published before collection",
        "Processing rules are published before any collection: purpose, method, scope, "
        "retention period, storage location, who processes, how to withdraw and delete, "
        "contact. Versioned; every consent points at the version it was given for.",
        "SPC Art. 2(2); PIPL 14, 17",
        "Versioned notices per site, in Chinese and English (store.notices; table notice, "
        "immutable by the notice_no_update / notice_no_delete triggers); every consent row "
        "carries notice_id and notice_version, and queries.usable_consent refuses a consent "
        "without a published notice, so nothing is enrolled before one exists.",
        ("facegate.store.notices.Notices", "facegate.store.queries", "facegate.store.schema"),
        "The notice's content must be true, and shown where residents see it (entrance, "
        "property office) before the devices are installed.",
    ),
    _rule(
        RuleId.R02,
        _N,
        "Separate, explicit consent",
        "Consent to face processing is separate: its own explicit act, never bundled with "
        "the property-service contract, house registration or another authorisation; never "
        'a pre-ticked or default "yes".',
        "SPC Art. 2(3), 4(2); PIPL 29",
        "A consent is its own row (table consent) written only by an explicit call of the "
        "consent ledger (store.consents) naming who gave it and how; adding a subject, "
        "issuing a credential or configuring a gate never creates one, and there is no "
        "default consent.",
        ("facegate.store.consents.Consents", "facegate.store.schema"),
        "Paper forms are outside facegate: the face consent must be a separate form, not "
        "a clause of the property-service contract.",
    ),
    _rule(
        RuleId.R03,
        _N,
        "Written consent recorded",
        "Written consent is recorded where required: who, when, which notice version, how "
        "(signature / e-signature), by whom collected. The record itself holds no face data.",
        "SPC Art. 2(3); PIPL 29",
        "Consent rows record given_by, given_at, notice_version, method (signature or "
        "e-signature), collected_by and evidence_ref, and no face data; a template cannot "
        "exist without a consent of the same subject (NOT NULL composite foreign key "
        "template → consent).",
        ("facegate.store.consents.Consents", "facegate.store.schema"),
        "Keep the signed forms or e-signature transactions that evidence_ref points to.",
    ),
    _rule(
        RuleId.R04,
        _N,
        "Guardian consent for under-14s",
        "A person under 14 can be enrolled only with a recorded guardian's consent; the "
        "guardian can withdraw and delete for them.",
        "SPC Art. 2(3); PIPL 31; CAC Art. 7",
        "subject.minor_until (the day the child turns 14, not the birth date) and the "
        "guardian table; queries.require_usable_consent raises GuardianRequiredError for a "
        "minor whose consent was not given by a recorded guardian.",
        ("facegate.store.queries", "facegate.store.consents.Consents", "facegate.errors"),
        "Check that the person recorded as guardian really is the child's parent or legal "
        "guardian.",
    ),
    _rule(
        RuleId.R05,
        _N,
        "Withdrawal at any time",
        "Consent can be withdrawn at any time, as easily as it was given; withdrawal stops "
        "face processing at once and triggers deletion.",
        "PIPL 15, 47",
        "Consents.withdraw (one call, like recording it) stops face processing under the "
        "consent and erases the templates enrolled under it in the same transaction, with a "
        "deletion receipt (store.erasure); the gallery version bump drops cached galleries "
        "at once.",
        ("facegate.store.consents.Consents", "facegate.store.erasure"),
    ),
    _rule(
        RuleId.R06,
        _N,
        "New consent after a widening notice",
        "When purpose, method or scope changes (a new notice version that widens them), "
        "face processing of each person stops until that person consents again.",
        "PIPL 14",
        "Publishing a notice that widens purpose, method or scope (or lengthens retention) "
        "stores widens = true and sets consent.renewal_required_at on every earlier consent "
        "in the same transaction (store.notices); queries.usable_consent "
        "excludes such consents and require_usable_consent raises RenewalRequiredError.",
        ("facegate.store.notices.Notices", "facegate.store.queries"),
    ),
    _rule(
        RuleId.R07,
        _N,
        "No indefinite or irrevocable grant",
        "No grant is indefinite, irrevocable or sub-licensable; every consent carries an end "
        "(retention) and can be revoked.",
        "SPC Art. 11",
        "Every consent has expires_at and usable_consent requires it to lie in the future; "
        "every consent can be withdrawn; there is no API that hands face data to another "
        "party.",
        ("facegate.store.queries", "facegate.store.consents.Consents"),
    ),
    _rule(
        RuleId.R08,
        _N,
        "Consent is not a condition of entry",
        "Consent is not a condition of service: declining face recognition never denies "
        "entry; the person gets another credential.",
        "SPC Art. 4(1), 10; CAC Art. 10",
        "Card, PIN and one-time-code credentials (store.credentials) are issued to any "
        "subject without a consent or template, and every gate accepts at least one of them "
        "(R-10).",
        ("facegate.store.credentials.Credentials", "facegate.store.gates.Gates"),
        "Staff must offer the other credential without pressure or extra conditions.",
    ),
    _rule(
        RuleId.R10,
        _A,
        "Every door has a non-face way in",
        "Every door accepts at least one non-face credential (card, PIN, phone QR / one-time "
        "code). Configuration that would leave a door face-only is refused.",
        "SPC Art. 10; CAC Art. 10",
        "The database CHECK ck_gate_non_face_credential (accepts_card OR accepts_pin OR "
        "accepts_otp) on table gate, and Gates.configure (store.gates) refuses a face-only "
        "configuration with PolicyError before it reaches the database.",
        ("facegate.store.gates.Gates", "facegate.store.schema"),
        "The installed hardware must actually have the card reader or keypad the "
        "configuration says it has.",
    ),
    _rule(
        RuleId.R11,
        _A,
        "The non-face way is not made worse",
        "The non-face way is not made deliberately worse (no extra ID-card registration each "
        "time, same door, same speed).",
        "SPC Art. 10 (and the complaints in the seeds)",
        "Non-face credentials are checked at the same gate and decided by the same store "
        "call as a face, audited as decision.credential, and need no data beyond the "
        "credential itself.",
        ("facegate.store.credentials.Credentials", "facegate.store.gates.Gates"),
        "Physical placement and speed of the readers, and the front desk's procedure, are "
        "outside the software.",
    ),
    _rule(
        RuleId.R12,
        _A,
        "No unrelated personal data for enrollment",
        "Face enrollment does not require unrelated personal data (ID-card number, house "
        "deed, phone) beyond what the declared purpose needs.",
        "PIPL 6; seed 002 complaints",
        "A subject is a display name and a kind; the schema has no column for an ID-card "
        "number, phone number or house deed, and enrollment asks for none.",
        ("facegate.store.service.Store", "facegate.store.schema"),
        "Staff must not collect ID cards or phone numbers on paper alongside enrollment.",
    ),
    _rule(
        RuleId.R20,
        _S,
        "Templates encrypted, keys apart",
        "Face templates are encrypted at rest; keys are kept apart from the data.",
        "SPC Art. 2(5); PIPL 51",
        "AES-256-GCM with a random per-subject data key, bound to site, subject, template "
        "and model by the associated data (store.crypto); data keys are wrapped with the "
        "site key and kept in the separate key store database (store.keystore); the site "
        "key is a 0600 file or FACEGATE_SITE_KEY, never in the database.",
        ("facegate.store.crypto", "facegate.store.keystore.KeyStore"),
        "Keep the site key file and the key store off the machines and media that hold "
        "database backups.",
    ),
    _rule(
        RuleId.R21,
        _S,
        "No raw face images kept",
        "Raw face images are not kept after the template is made, unless the person "
        "separately agreed to that.",
        "GB/T 41819 draft; CAC Art. 8",
        "Images live only in memory during enrollment and recognition; no database column "
        "can hold an image (the only binary columns have fixed, small lengths by CHECK); "
        "frames are kept only for disputed entries when the site enables "
        "keep_disputed_frames, encrypted, through store.snapshots.",
        ("facegate.store.schema", "facegate.store.snapshots.Snapshots"),
    ),
    _rule(
        RuleId.R22,
        _S,
        "Face data stays local",
        "Face data stays on the community's own system; nothing is sent to another party or "
        "over the internet without separate consent.",
        "SPC Art. 2(6); PIPL 23; CAC Art. 8",
        "Storage is a local SQLite database and key store under the data directory; facegate "
        "has no network client and no upload code, and models are local files checked by "
        "the registry.",
        ("facegate.store.engine", "facegate.models.registry"),
        "Network policy: the server must not be reachable from, or copy data to, the "
        "internet or another party (firewall, no cloud sync of the data directory).",
    ),
    _rule(
        RuleId.R23,
        _S,
        "Deletion reaches every copy",
        "Deletion (on withdrawal, move-out, expiry, or request) reaches every copy: database "
        "rows, search index, caches, gate devices, logs, backups (crypto-shredding: destroy "
        "the per-person key). A deletion receipt says what was deleted and when.",
        "SPC Art. 12; PIPL 47",
        "Crypto-shredding (store.erasure, shared by deletion, withdrawal and retention): one "
        "transaction deletes templates, credentials and kept frames' rows and writes an "
        "append-only deletion_receipt and an audit event; then the subject's data key is "
        "destroyed in the separate key store (store.keystore), so every copy of the "
        "ciphertext, old backups included, becomes unreadable, and the key store's erasure "
        "log stops a restored backup from bringing the person back; the gallery version "
        "bump and store.gallery_cache drop decrypted galleries; backups (store.backups) "
        "never include the key store.",
        (
            "facegate.store.erasure",
            "facegate.store.keystore.KeyStore",
            "facegate.store.gallery_cache",
            "facegate.store.backups.Backups",
        ),
        "Copies made outside facegate (file-level backups of the whole data directory, "
        "third-party gate devices) must exclude the key store or be wiped by the operator.",
    ),
    _rule(
        RuleId.R24,
        _S,
        "Minimal, automatic retention",
        "Retention is minimal and automatic: a resident's face data is purged a set time "
        "after move-out; temporary residents' and visitors' data expires by itself; event "
        "snapshots expire.",
        "PIPL 19, 47; seed 001",
        "site.resident_retention_days and site.snapshot_retention_days; subject.expires_at "
        "is required for visitors and temporary residents (CHECK "
        "ck_subject_expiring_kind_has_end); Retention.run (store.retention) erases moved-out "
        "residents, expired visitors, ended consents and expired frames, with receipts.",
        ("facegate.store.retention.Retention", "facegate.store.schema"),
        "Run the retention job on a schedule (e.g. daily cron of the retention command).",
    ),
    _rule(
        RuleId.R25,
        _S,
        "Bystanders blurred in kept frames",
        "Captured frames that are kept (e.g. for a disputed entry) have every face except "
        "the subject's blurred.",
        "seed 001 (bystanders); PIPL 6",
        "Snapshots.keep (store.snapshots) replaces every face but the subject's with a coarse "
        "mosaic (privacy.redaction, a detector tuned to miss no bystander) before the frame "
        "is encrypted and written, and records how many were redacted.",
        ("facegate.store.snapshots.Snapshots", "facegate.privacy.redaction"),
    ),
    _rule(
        RuleId.R26,
        _S,
        "No inference of other attributes",
        "Face data is not used to infer anything else (age, sex, ethnicity, emotion, "
        "health): no such analysis runs.",
        "GB/T 41819 draft",
        "The vision pipeline has only detect, landmarks, align, quality and embed stages, "
        "and the model registry lists no attribute classifier.",
        ("facegate.vision.pipeline.FacePipeline", "facegate.models.registry"),
    ),
    _rule(
        RuleId.R27,
        _S,
        "Tamper-evident audit log",
        "Every access to face data, and every decision, is recorded in an append-only, "
        "tamper-evident audit log that holds no face data itself.",
        "PIPL 51, 54",
        "HMAC-SHA256-chained audit log keyed from the site key (store.audit.append_event), "
        "written in the same transaction as the change it records; audit_head, sealed with "
        "its own key-derived MAC, and a signed head receipt kept outside the database "
        "(store.audit_anchor) catch a removed tail; verify_anchored checks both; "
        "check_detail refuses names, face data and scores.",
        ("facegate.store.audit", "facegate.store.audit_anchor"),
        "Keep the audit head receipt (FACEGATE_AUDIT_RECEIPT_PATH, default beside the key "
        "store) where whoever can write the database cannot, and the site key apart from "
        "both: with either, events cut from the end of the log can still go unnoticed.",
    ),
    _rule(
        RuleId.R28,
        _S,
        "Leak, tamper and loss detected",
        "Leak, tamper or loss is detected and reported (integrity checks on data and models; "
        "an incident record).",
        "SPC Art. 2(5); PIPL 57",
        "Audit-chain verification, AES-GCM authentication of every template and data key, "
        "SHA-256 checks of every model file (models.registry, ModelIntegrityError); a "
        "failed check writes an incident record and an incident.recorded audit event "
        "(store.incidents).",
        (
            "facegate.store.audit",
            "facegate.models.registry",
            "facegate.store.incidents.Incidents",
        ),
        "Notify the authorities and the affected people of an incident (PIPL 57).",
    ),
    _rule(
        RuleId.R30,
        _C,
        "Impact assessment before enrollment",
        "Enrollment cannot open until a personal-information impact assessment record "
        "exists for the site; it is kept at least 3 years.",
        "PIPL 55, 56; CAC Art. 9",
        "queries.require_assessment refuses enrollment with AssessmentRequiredError until "
        "an impact_assessment row exists (store.assessments); the impact_assessment_kept "
        "trigger refuses deleting it before retain_until.",
        ("facegate.store.queries", "facegate.store.assessments.Assessments"),
        "The assessment's content (its risks and measures) is the operator's work; "
        "facegate keeps only the record and the document's SHA-256.",
    ),
    _rule(
        RuleId.R31,
        _C,
        "Filing warning at 100,000 people",
        "When the number of distinct people enrolled by one operator reaches 100,000, the "
        "operator is warned that filing with the provincial CAC is due within 30 working "
        "days.",
        "CAC Art. 15",
        "After every enrollment store.filing counts the distinct people with a template "
        "across the operator's sites (site.operator); at FILING_THRESHOLD it writes one "
        "filing_alert row with the due date (30 working days) and an operator.filing_due "
        "audit event, and logs a warning.",
        ("facegate.store.filing", "facegate.store.schema"),
        "File with the provincial CAC; count people the operator enrolls in other systems too.",
    ),
    _rule(
        RuleId.R32,
        _C,
        "Access and export for the person",
        "A person can see and export what the system holds about them (consents, "
        "credentials, access log), without seeing templates.",
        "PIPL 44, 45",
        "Exports.subject_export (store.exports) lists the subject's record, consents, "
        "guardians, credentials, kept frames, deletion receipts and every audit event that "
        "names them; of templates only their count, model and date, never a template, key "
        "or hash. Every export is audited.",
        ("facegate.store.exports.Exports",),
        "Verify the requester's identity before handing over an export.",
    ),
    _rule(
        RuleId.R33,
        _C,
        "Compliance report",
        "A compliance report lists every rule above with its status, generated from the "
        "tests and the live configuration.",
        "PIPL 54",
        "The pytest plugin facegate.testing.rule_results records every test marked "
        "rule(...); privacy.compliance joins those results with this catalogue and the "
        "live checks of privacy.live; `facegate compliance report` writes it as Markdown "
        "and HTML. A release ships its test run's results in the package with their SHA-256 "
        "(privacy.release_results, `facegate compliance freeze`), so a deployed site's "
        "console shows them, or that they were altered, beside its live checks, in Chinese "
        "or English (api.compliance_page).",
        (
            "facegate.privacy.compliance",
            "facegate.privacy.live",
            "facegate.privacy.rules",
            "facegate.privacy.release_results",
            "facegate.api.compliance_page",
        ),
        "Run the tests and the report regularly (PIPL 54 audits) and keep the reports.",
    ),
)

#: Every rule, by id, in document order.
RULES: Mapping[RuleId, Rule] = MappingProxyType({rule.id: rule for rule in _RULES})


def all_rules() -> tuple[Rule, ...]:
    """Every rule in document order."""
    return _RULES


def get_rule(rule_id: RuleId | str) -> Rule:
    """The rule with this id; ``ValueError`` for an unknown id."""
    return RULES[parse_rule_id(str(rule_id))]
