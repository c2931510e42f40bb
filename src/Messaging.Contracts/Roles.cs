namespace Messaging.Contracts;

/// <summary>Member role names as they appear on the wire.</summary>
public static class Roles
{
    /// <summary>A social worker of a service.</summary>
    public const string Worker = "worker";

    /// <summary>An organisation administrator: creates members, issues enrolment codes, revokes devices of their organisation.</summary>
    public const string OrganisationAdmin = "org-admin";

    /// <summary>A justice assistant (Maisons de justice): receives notices, invitations and chat, never referrals or case files.</summary>
    public const string JusticeAssistant = "justice-assistant";

    /// <summary>The platform operator: administers partners, sees metadata, never content.</summary>
    public const string PlatformOperator = "platform-operator";

    /// <summary>Every role.</summary>
    public static IReadOnlyList<string> All { get; } = [Worker, OrganisationAdmin, JusticeAssistant, PlatformOperator];

    /// <summary>True for a known role name (exact, case-sensitive).</summary>
    public static bool IsKnown(string? role) => role is Worker or OrganisationAdmin or JusticeAssistant or PlatformOperator;
}

/// <summary>Organisation type names as they appear on the wire.</summary>
public static class OrganisationTypes
{
    /// <summary>A prevention or social service that takes referrals (city services, CAPREV, CREA, …).</summary>
    public const string PreventionService = "prevention-service";

    /// <summary>A coordination body (region, federation, sector referents) that takes part in collective meetings.</summary>
    public const string Coordination = "coordination";

    /// <summary>A Maison de justice; its members are justice assistants and their admins.</summary>
    public const string JusticeHouse = "justice-house";

    /// <summary>The organisation running the platform.</summary>
    public const string Operator = "operator";

    /// <summary>Every type.</summary>
    public static IReadOnlyList<string> All { get; } = [PreventionService, Coordination, JusticeHouse, Operator];

    /// <summary>True for a known type name (exact, case-sensitive).</summary>
    public static bool IsKnown(string? type) => type is PreventionService or Coordination or JusticeHouse or Operator;
}
