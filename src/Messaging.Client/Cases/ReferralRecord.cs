namespace Messaging.Client.Cases;

/// <summary>The nature of the request (protocol section 2).</summary>
public enum RequestNature
{
    /// <summary>About one person's situation.</summary>
    Individual = 1,

    /// <summary>About a group or an organisation's public (recommendations, a prevention project).</summary>
    Collective = 2,
}

/// <summary>Who brought the request (protocol section 2: relative, family, professional, the person, an authority).</summary>
public enum Requester
{
    /// <summary>A relative or friend.</summary>
    Relative = 1,

    /// <summary>The family.</summary>
    Family = 2,

    /// <summary>A professional.</summary>
    Professional = 3,

    /// <summary>The person concerned.</summary>
    Person = 4,

    /// <summary>An authority.</summary>
    Authority = 5,
}

/// <summary>The closed list of reasons a service is asked to intervene (protocol sections 2, 3 and 7).</summary>
public enum ReasonCategory
{
    /// <summary>General information, questions or concerns.</summary>
    InformationOrConcern = 1,

    /// <summary>Individual psycho-social support.</summary>
    PsychosocialSupport = 2,

    /// <summary>A disengagement path.</summary>
    DisengagementPath = 3,

    /// <summary>Support to relatives or family touched by the problem.</summary>
    SupportToRelatives = 4,

    /// <summary>Conditions of a judicial mandate followed by a Maison de justice.</summary>
    JudicialMandate = 5,

    /// <summary>Support to professionals (collective requests: recommendations, prevention project).</summary>
    ProfessionalSupport = 6,
}

/// <summary>How soon the receiving service is asked to take a position.</summary>
public enum Urgency
{
    /// <summary>The usual delay.</summary>
    Normal = 1,

    /// <summary>Within days.</summary>
    Priority = 2,

    /// <summary>At once (a risk for the person or for others).</summary>
    Urgent = 3,
}

/// <summary>
/// A referral (protocol 7.A): only what the receiving service needs to decide whether to intervene. A closed record:
/// no name, no birth date, no free narrative — there is no field that could hold them, and a JSON form with any other
/// field is refused. Built and validated on the referring device, encrypted end to end, decoded and validated again on
/// the receiving device. The server sees none of it.
/// </summary>
/// <param name="CaseReference">The fresh pseudonymous case reference (<see cref="Contracts.Referrals.CaseReference.New"/>).</param>
/// <param name="Nature">Individual or collective.</param>
/// <param name="Requester">Who asks.</param>
/// <param name="CommuneNisCode">The commune of geographic anchoring (five-digit INS/NIS code).</param>
/// <param name="FollowUpOngoing">A follow-up already runs elsewhere: only a tripartite interview is then possible (7.A/7.B).</param>
/// <param name="Reason">The reason category.</param>
/// <param name="Urgency">The urgency.</param>
public sealed record ReferralRecord(string CaseReference, RequestNature Nature, Requester Requester, string CommuneNisCode, bool FollowUpOngoing, ReasonCategory Reason, Urgency Urgency)
{
    /// <summary>The record's format version.</summary>
    public const int Version = 1;

    /// <summary>The only fields of the JSON form a worker writes (the case reference is generated, never chosen).</summary>
    public static IReadOnlyList<string> DraftFields { get; } = ["nature", "requester", "commune", "followUpOngoing", "reason", "urgency"];

    internal static IReadOnlyDictionary<string, RequestNature> Natures { get; } = new Dictionary<string, RequestNature>(StringComparer.Ordinal)
    {
        ["individual"] = RequestNature.Individual,
        ["collective"] = RequestNature.Collective,
    };

    internal static IReadOnlyDictionary<string, Requester> Requesters { get; } = new Dictionary<string, Requester>(StringComparer.Ordinal)
    {
        ["relative"] = Requester.Relative,
        ["family"] = Requester.Family,
        ["professional"] = Requester.Professional,
        ["person"] = Requester.Person,
        ["authority"] = Requester.Authority,
    };

    internal static IReadOnlyDictionary<string, ReasonCategory> Reasons { get; } = new Dictionary<string, ReasonCategory>(StringComparer.Ordinal)
    {
        ["information-or-concern"] = ReasonCategory.InformationOrConcern,
        ["psychosocial-support"] = ReasonCategory.PsychosocialSupport,
        ["disengagement-path"] = ReasonCategory.DisengagementPath,
        ["support-to-relatives"] = ReasonCategory.SupportToRelatives,
        ["judicial-mandate"] = ReasonCategory.JudicialMandate,
        ["professional-support"] = ReasonCategory.ProfessionalSupport,
    };

    internal static IReadOnlyDictionary<string, Urgency> Urgencies { get; } = new Dictionary<string, Urgency>(StringComparer.Ordinal)
    {
        ["normal"] = Urgency.Normal,
        ["priority"] = Urgency.Priority,
        ["urgent"] = Urgency.Urgent,
    };

    /// <summary>Checks every field; throws on the first that does not fit.</summary>
    /// <exception cref="CaseRecordException">A field is out of its closed list or malformed.</exception>
    public void Validate()
    {
        CaseJson.RequireCaseReference(CaseReference);
        CaseJson.RequireChoice(Nature, Natures, "nature");
        CaseJson.RequireChoice(Requester, Requesters, "requester");
        CaseJson.RequireChoice(Reason, Reasons, "reason");
        CaseJson.RequireChoice(Urgency, Urgencies, "urgency");
        if (CommuneNisCode is not { Length: 5 } || !CommuneNisCode.All(char.IsAsciiDigit))
        {
            throw new CaseRecordException("commune", "'commune' is a five-digit INS/NIS code.");
        }

        if (Nature == RequestNature.Collective && Requester is not (Requester.Professional or Requester.Authority))
        {
            // Protocol section 2: a collective request comes from professionals or authorities.
            throw new CaseRecordException("requester", "A collective request comes from a professional or an authority.");
        }
    }

    /// <summary>The closed JSON form that travels end to end (validated first).</summary>
    /// <exception cref="CaseRecordException">The record does not validate.</exception>
    public byte[] Encode()
    {
        Validate();
        return CaseWire.Write(
            new ReferralJson
            {
                Version = Version, CaseReference = CaseReference, Nature = Name(Nature), Requester = Name(Requester), Commune = CommuneNisCode,
                FollowUpOngoing = FollowUpOngoing, Reason = Name(Reason), Urgency = Name(Urgency),
            },
            CaseWire.Json.ReferralJson);
    }

    /// <summary>Reads and validates a received record.</summary>
    /// <exception cref="CaseRecordException">Not a record of this schema.</exception>
    public static ReferralRecord Decode(ReadOnlySpan<byte> utf8)
    {
        var json = CaseWire.Read(utf8, CaseWire.Json.ReferralJson, "referral");
        CaseWire.RequireVersion(json.Version, Version, "referral");
        var record = FromDraft(json, json.CaseReference);
        record.Validate();
        return record;
    }

    /// <summary>
    /// Reads the JSON form a worker writes (only <see cref="DraftFields"/>) and binds it to <paramref name="caseReference"/>.
    /// Any other field — a name, a birth date, a narrative — is refused before anything is sent.
    /// </summary>
    /// <exception cref="CaseRecordException">A field outside the allow-list, or a malformed one.</exception>
    public static ReferralRecord ParseDraft(ReadOnlySpan<byte> utf8, string caseReference)
    {
        var record = FromDraft(CaseWire.Read(utf8, CaseWire.Json.ReferralDraftJson, "referral"), caseReference);
        record.Validate();
        return record;
    }

    /// <summary>The kebab-case name of a nature (as in the JSON form).</summary>
    public static string Name(RequestNature value) => CaseJson.NameOf(Natures, value);

    /// <summary>The kebab-case name of a requester.</summary>
    public static string Name(Requester value) => CaseJson.NameOf(Requesters, value);

    /// <summary>The kebab-case name of a reason category.</summary>
    public static string Name(ReasonCategory value) => CaseJson.NameOf(Reasons, value);

    /// <summary>The kebab-case name of an urgency.</summary>
    public static string Name(Urgency value) => CaseJson.NameOf(Urgencies, value);

    /// <summary>Never prints the referral's content.</summary>
    public override string ToString() => $"ReferralRecord {{ CaseReference = {CaseReference} }}";

    private static ReferralRecord FromDraft(ReferralDraftJson json, string caseReference) => new(
        caseReference,
        CaseWire.Choice(json.Nature, Natures, "nature"),
        CaseWire.Choice(json.Requester, Requesters, "requester"),
        json.Commune,
        json.FollowUpOngoing,
        CaseWire.Choice(json.Reason, Reasons, "reason"),
        CaseWire.Choice(json.Urgency, Urgencies, "urgency"));
}
