namespace Messaging.Contracts;

/// <summary>Where a service sits in the protocol's structure (protocol section 3).</summary>
public static class ServiceLevels
{
    /// <summary>A city or commune service: serves the communes listed for it.</summary>
    public const string Local = "local";

    /// <summary>A regional service (Walloon region, Brussels-Capital region with BPS): serves every commune of its region.</summary>
    public const string Regional = "regional";

    /// <summary>A service of the Fédération Wallonie-Bruxelles (CAPREV, CREA, referents): serves every commune.</summary>
    public const string Community = "community";

    /// <summary>Every level, in orientation order.</summary>
    public static IReadOnlyList<string> All { get; } = [Local, Regional, Community];

    /// <summary>True for a known level (exact, case-sensitive).</summary>
    public static bool IsKnown(string? level) => level is Local or Regional or Community;
}

/// <summary>The regions the protocol covers.</summary>
public static class Regions
{
    /// <summary>Brussels-Capital region.</summary>
    public const string Brussels = "brussels";

    /// <summary>Walloon region.</summary>
    public const string Wallonia = "wallonia";

    /// <summary>Every region.</summary>
    public static IReadOnlyList<string> All { get; } = [Brussels, Wallonia];

    /// <summary>True for a known region (exact, case-sensitive).</summary>
    public static bool IsKnown(string? region) => region is Brussels or Wallonia;
}

/// <summary>Partner status of an organisation (protocol section 9).</summary>
public static class PartnerStatuses
{
    /// <summary>A party to the protocol.</summary>
    public const string Active = "active";

    /// <summary>A withdrawal was filed; it is still a party until the notice period ends.</summary>
    public const string Withdrawing = "withdrawing";

    /// <summary>No longer a party: its devices are revoked, its referrals closed, it receives no new referral.</summary>
    public const string Withdrawn = "withdrawn";
}

/// <summary>A commune by its INS/NIS code (five digits), its French name and its region.</summary>
public sealed record CommuneEntry(string NisCode, string Name, string Region);

/// <summary>A service of the partner directory. Organisation-level data only: no member, no person.</summary>
/// <param name="OrganisationId">The organisation.</param>
/// <param name="Name">Its public name.</param>
/// <param name="Type">Its organisation type (<see cref="OrganisationTypes"/>).</param>
/// <param name="Level">Its level (<see cref="ServiceLevels"/>).</param>
/// <param name="Region">Its region for regional services, else null.</param>
/// <param name="AcceptsReferrals">Whether other services may orient persons to it.</param>
/// <param name="PartnerStatus">Its partner status (<see cref="PartnerStatuses"/>).</param>
/// <param name="CommuneCodes">The communes it serves (local services), by NIS code.</param>
public sealed record DirectoryServiceEntry(
    Guid OrganisationId,
    string Name,
    string Type,
    string Level,
    string? Region,
    bool AcceptsReferrals,
    string PartnerStatus,
    IReadOnlyList<string> CommuneCodes);

/// <summary>Change a service's directory entry; null fields stay as they are. <paramref name="CommuneCodes"/>, when
/// given, replaces the whole list.</summary>
public sealed record UpdateDirectoryServiceRequest(string? Level = null, string? Region = null, bool? AcceptsReferrals = null, IReadOnlyList<string>? CommuneCodes = null);

/// <summary>Add communes to the directory (existing codes are left unchanged).</summary>
public sealed record AddCommunesRequest(IReadOnlyList<CommuneEntry> Communes);

/// <summary>How many communes were added.</summary>
public sealed record CommunesAdded(int Added);

/// <summary>Ask which services accept referrals for a person anchored in a commune.</summary>
public sealed record OrientRequest(string NisCode);

/// <summary>A service a person may be oriented to.</summary>
public sealed record OrientationEntry(Guid OrganisationId, string Name, string Type, string Level);

/// <summary>The services accepting referrals for a commune: local services serving it first, then regional services
/// of its region, then community-wide services; withdrawn partners excluded; by name within a level.</summary>
public sealed record OrientationResult(CommuneEntry Commune, IReadOnlyList<OrientationEntry> Services);
