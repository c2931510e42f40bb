using System.Globalization;
using Messaging.Client;
using Messaging.Contracts;

namespace Messaging.Cli;

/// <summary>The partner directory and the partner lifecycle of protocol section 9: the operator's administration
/// (<c>admin directory …</c>, <c>admin partners …</c>), and what any member the server allows may read or do
/// (<c>directory communes</c>, <c>partners requests</c>, <c>partners object</c>).</summary>
internal sealed partial class CliApp
{
    /// <summary>Organisation types an entity may ask to join as (the operator is not a party).</summary>
    private static readonly string[] JoinTypes = [OrganisationTypes.PreventionService, OrganisationTypes.Coordination, OrganisationTypes.JusticeHouse];

    /// <summary><c>admin directory …</c> and <c>admin partners …</c>, over HTTP with <paramref name="token"/>; null when
    /// <c>args[1]</c> is neither.</summary>
    private async Task<int?> AdminPartnerCommandAsync(string[] args, Options options, MessagingClient client, string token, CancellationToken cancellationToken)
    {
        switch (args[1], args.ElementAtOrDefault(2))
        {
            case ("directory", "list"):
                foreach (var service in await client.Api.ListDirectoryServicesAsync(token, cancellationToken))
                {
                    await WriteServiceAsync(service);
                }

                return 0;
            case ("directory", "set"):
                var organisationId = options.RequiredGuid("organisation");
                var update = new UpdateDirectoryServiceRequest(
                    Choice(options, "level", ServiceLevels.All),
                    Choice(options, "region", Regions.All),
                    TrueOrFalse(options, "accepts-referrals"),
                    options.Optional("communes") is { } communes ? NisCodes("communes", communes) : null);
                if (update is { Level: null, Region: null, AcceptsReferrals: null, CommuneCodes: null })
                {
                    throw new UsageException("directory set changes at least one of --level, --region, --accepts-referrals, --communes");
                }

                await WriteServiceAsync(await client.Api.UpdateDirectoryServiceAsync(token, organisationId, update, cancellationToken));
                return 0;
            case ("directory", "add-commune"):
                var commune = new CommuneEntry(NisCode("nis", options.Required("nis")), options.Required("name"),
                    Choice(options, "region", Regions.All) ?? throw new UsageException("--region is required"));
                var added = await client.Api.AddCommunesAsync(token, [commune], cancellationToken);
                await output.WriteLineAsync(added.Added == 0
                    ? $"{commune.NisCode} already in the directory (left unchanged)"
                    : $"{commune.NisCode} added");
                return 0;
            case ("partners", "join"):
                var joinRequest = new FileJoinRequest(
                    options.Required("name"),
                    Choice(options, "type", JoinTypes) ?? throw new UsageException("--type is required"),
                    Choice(options, "level", ServiceLevels.All) ?? throw new UsageException("--level is required"),
                    Choice(options, "region", Regions.All),
                    options.Optional("communes") is { } codes ? NisCodes("communes", codes) : null,
                    TrueOrFalse(options, "accepts-referrals") ?? true);
                await WriteJoinRequestAsync(await client.Api.FileJoinRequestAsync(token, joinRequest, cancellationToken));
                return 0;
            case ("partners", "withdraw"):
                await WriteWithdrawalAsync(await client.Api.FileWithdrawalAsync(token, options.RequiredGuid("organisation"), cancellationToken));
                return 0;
            case ("partners", "withdrawals"):
                foreach (var withdrawal in await client.Api.ListWithdrawalsAsync(token, cancellationToken))
                {
                    await WriteWithdrawalAsync(withdrawal);
                }

                return 0;
            case ("directory", _):
                throw new UsageException("admin directory takes list, set or add-commune; run 'messaging help'");
            case ("partners", _):
                throw new UsageException("admin partners takes join, withdraw or withdrawals; run 'messaging help'");
            default:
                return null;
        }
    }

    /// <summary><c>directory communes</c>, <c>partners requests</c>, <c>partners object</c>: any member, as far as the
    /// server allows; null for another command.</summary>
    private async Task<int?> PartnerCommandAsync(string[] args, Options options, MessagingClient client, CancellationToken cancellationToken)
    {
        switch (args[0], args.ElementAtOrDefault(1))
        {
            case ("directory", "communes"):
                foreach (var commune in await client.Api.ListCommunesAsync(await client.GetAccessTokenAsync(cancellationToken), cancellationToken))
                {
                    await output.WriteLineAsync($"{commune.NisCode}  {commune.Name} ({commune.Region})");
                }

                return 0;
            case ("partners", "requests"):
                foreach (var request in await client.ListJoinRequestsAsync(cancellationToken))
                {
                    await WriteJoinRequestAsync(request);
                }

                return 0;
            case ("partners", "object"):
                var requestId = options.RequiredGuid("request");
                var reason = Choice(options, "reason", ObjectionReasons.All) ?? throw new UsageException("--reason is required");
                await WriteJoinRequestAsync(await client.ObjectToJoinRequestAsync(requestId, reason, cancellationToken));
                return 0;
            case ("partners", _):
                throw new UsageException("partners takes requests or object; run 'messaging help'");
            default:
                return null;
        }
    }

    private Task WriteServiceAsync(DirectoryServiceEntry service)
        => output.WriteLineAsync(
            $"{service.OrganisationId}  {service.Name} [{Level(service.Level, service.Region)}, {service.Type}]  {service.PartnerStatus}  " +
            $"{(service.AcceptsReferrals ? "accepts referrals" : "no referrals")}  communes: {(service.CommuneCodes.Count == 0 ? "-" : string.Join(',', service.CommuneCodes))}");

    private Task WriteJoinRequestAsync(JoinRequestEntry request)
        => output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
            $"{request.JoinRequestId}  {request.Name} [{Level(request.Level, request.Region)}, {request.Type}]  {request.Status}  filed {request.FiledAt:u}  " +
            $"objections until {request.ObjectionDeadline:u}: {request.Objections}{(request.ObjectedByMyOrganisation ? " (my organisation objected)" : "")}" +
            $"{(request.OrganisationId is { } admitted ? $"  organisation {admitted}" : "")}{(request.DecidedAt is { } decided ? $"  decided {decided:u}" : "")}"));

    private Task WriteWithdrawalAsync(WithdrawalEntry withdrawal)
        => output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
            $"{withdrawal.WithdrawalId}  organisation {withdrawal.OrganisationId}  {withdrawal.Status}  filed {withdrawal.FiledAt:u}  effective {withdrawal.EffectiveAt:u}" +
            $"{(withdrawal.CompletedAt is { } completed ? $"  completed {completed:u}" : "")}"));

    private static string Level(string level, string? region) => region is null ? level : $"{level} ({region})";

    /// <summary>An optional option whose value comes from a closed list (exact, case-sensitive, as the server reads it).</summary>
    private static string? Choice(Options options, string name, IReadOnlyList<string> allowed)
        => options.Optional(name) is not { } value ? null
            : allowed.Contains(value, StringComparer.Ordinal) ? value
            : throw new UsageException($"--{name} takes one of: {string.Join(", ", allowed)}");

    private static bool? TrueOrFalse(Options options, string name)
        => options.Optional(name) switch
        {
            null => null,
            "true" => true,
            "false" => false,
            _ => throw new UsageException($"--{name} takes true or false"),
        };

    /// <summary>NIS codes separated by commas; an empty value is an empty list (a local service serving no commune).</summary>
    private static string[] NisCodes(string name, string value)
        => [.. value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(code => NisCode(name, code))];

    private static string NisCode(string name, string value)
        => value.Length == 5 && value.All(char.IsAsciiDigit) ? value : throw new UsageException($"--{name} takes five-digit NIS codes, got '{value}'");
}
