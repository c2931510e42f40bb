using Messaging.Client;
using Messaging.Client.Cases;
using Messaging.Client.Tests.Infrastructure;
using Messaging.Contracts;
using Messaging.Contracts.Referrals;

namespace Messaging.App.Tests.Infrastructure;

/// <summary>A referred case, built with the SDK before the apps open: two services with a worker each (Aline refers,
/// Bruno's service answers, unless <c>answer</c> is null: then the referral awaits the answer).</summary>
internal sealed record ReferredCase(MessagingClient Aline, MessagingClient Bruno, MessagingClient AdminY, Guid ServiceY, ReferralRecord Record)
{
    public static async Task<ReferredCase> CreateAsync(Platform platform, string marker, ReferralResponse? answer, bool followUpOngoing = false)
    {
        var (_, adminX) = await platform.CreateOrganisationAsync($"Service X {marker}");
        var (serviceY, adminY) = await platform.CreateOrganisationAsync($"Service Y {marker}");
        var aline = await platform.EnrolDeviceAsync(adminX, await platform.CreateMemberAsync(adminX, $"Aline {marker}"));
        var bruno = await platform.EnrolDeviceAsync(adminY, await platform.CreateMemberAsync(adminY, $"Bruno {marker}"));
        var record = new ReferralRecord(CaseReference.New(), RequestNature.Individual, Requester.Relative, "21012", followUpOngoing, ReasonCategory.InformationOrConcern, Urgency.Normal);
        await aline.ReferAsync(serviceY, record);
        await bruno.InboxWhenAsync(i => i.Any(m => m.Kind == EnvelopeKind.Referral));
        if (answer is { } response)
        {
            await bruno.RespondToReferralAsync(record.CaseReference, response);
        }

        return new ReferredCase(aline, bruno, adminY, serviceY, record);
    }
}

/// <summary>A justice house (its admin enrolled by the operator) and one justice assistant, Justine, enrolled.</summary>
internal static class JusticeHouse
{
    public static async Task<MessagingClient> AssistantAsync(Platform platform, string marker)
    {
        var token = await platform.Operator.GetAccessTokenAsync();
        var house = await platform.Operator.Api.CreateOrganisationAsync(token, new CreateOrganisationRequest($"Maison de justice {marker}", OrganisationTypes.JusticeHouse));
        var houseAdmin = await platform.Operator.Api.CreateMemberAsync(token, new CreateMemberRequest(house.OrganisationId, $"Admin MJ {marker}", Roles.OrganisationAdmin, $"mj.{marker}@example.be"));
        var houseAdminDevice = await platform.EnrolDeviceAsync(platform.Operator, houseAdmin.MemberId);
        return await platform.EnrolDeviceAsync(houseAdminDevice, await platform.CreateMemberAsync(houseAdminDevice, $"Justine {marker}", Roles.JusticeAssistant));
    }
}
