using Messaging.Client;
using Messaging.Contracts;

namespace Messaging.App.Device;

/// <summary>The directory as one page needs it: names of members and organisations by id, read once per request.</summary>
public sealed class People
{
    private readonly Dictionary<Guid, MemberEntry> _members;
    private readonly Dictionary<Guid, OrganisationEntry> _organisations;

    private People(IEnumerable<MemberEntry> members, IEnumerable<OrganisationEntry> organisations)
    {
        _members = members.ToDictionary(m => m.MemberId);
        _organisations = organisations.ToDictionary(o => o.OrganisationId);
    }

    public IEnumerable<MemberEntry> Members => _members.Values.OrderBy(m => m.DisplayName, StringComparer.Ordinal);

    public static async Task<People> LoadAsync(MessagingClient client, CancellationToken cancellationToken)
        => new(await client.ListMembersAsync(cancellationToken: cancellationToken), await client.ListOrganisationsAsync(cancellationToken));

    public string Member(Guid memberId, string unknown) => _members.TryGetValue(memberId, out var member) ? member.DisplayName : unknown;

    public string Organisation(Guid organisationId, string unknown) => _organisations.TryGetValue(organisationId, out var organisation) ? organisation.Name : unknown;

    public string OrganisationOfMember(Guid memberId, string unknown)
        => _members.TryGetValue(memberId, out var member) ? Organisation(member.OrganisationId, unknown) : unknown;
}
