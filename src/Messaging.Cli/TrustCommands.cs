using System.Globalization;
using Messaging.Client;

namespace Messaging.Cli;

/// <summary>Cross-signing commands: approving this member's new devices, confirming a contact's new member key.</summary>
internal sealed partial class CliApp
{
    private const string TrustUsage = """
          device status                          approved, or waiting for approval (with the code to compare)
          device pending                         my devices waiting for approval and the code each shows
          device approve --code DIGITS           approve the one device of mine showing these 20 digits
                                                 (spaces ignored: quote them, or type them without)
          device reset-member-key --yes          every device of mine is lost: new member key, my other
                                                 devices revoked, every contact warned
          contact confirm --member ID [--yes]    after a contact's reset: show the new safety number;
                                                 with --yes, accept it (sends to them resume)
        """;

    private async Task<int?> TrustCommandAsync(string[] args, Options options, MessagingClient client, CancellationToken cancellationToken)
    {
        switch (args[0], args.ElementAtOrDefault(1))
        {
            case ("device", "status"):
                if (await client.RefreshApprovalAsync(cancellationToken))
                {
                    await output.WriteLineAsync("approved: this device holds its member's signing key");
                }
                else
                {
                    await WriteApprovalCodeAsync(client);
                }

                return 0;
            case ("device", "pending"):
                var pending = await client.GetPendingDevicesAsync(cancellationToken);
                if (pending.Count == 0)
                {
                    await output.WriteLineAsync("no device of yours is waiting for approval");
                }

                foreach (var device in pending)
                {
                    await output.WriteLineAsync($"{device.DeviceId}  shows {device.ApprovalCode}");
                }

                return 0;
            case ("device", "approve"):
                var approved = await client.ApproveDeviceAsync(options.Required("code"), cancellationToken);
                await output.WriteLineAsync($"approved device {approved}: it now receives your conversations and can approve your next device");
                return 0;
            case ("device", "reset-member-key"):
                if (!options.Flag("yes"))
                {
                    throw new UsageException("a reset revokes your other devices and warns every contact: add --yes if every device of yours is lost");
                }

                await client.ResetMemberKeyAsync(cancellationToken);
                await output.WriteLineAsync("new member key published; your other devices were revoked; your contacts must confirm it before they send to you again");
                return 0;
            case ("contact", "confirm"):
                var member = options.RequiredGuid("member");
                var number = await client.GetMemberSafetyNumberAsync(member, cancellationToken)
                    ?? throw new MessagingClientException($"Member {member} has no signing key yet.");
                await output.WriteLineAsync($"safety number with member {member}: {number}");
                if (!await client.IsMemberKeyUnconfirmedAsync(member, cancellationToken))
                {
                    await output.WriteLineAsync("nothing to confirm: this member's key did not change");
                    return 0;
                }

                if (!options.Flag("yes"))
                {
                    await output.WriteLineAsync("compare it with the member (in person or by phone), then run again with --yes");
                    return 1;
                }

                await client.ConfirmMemberKeyAsync(member, cancellationToken);
                await output.WriteLineAsync($"confirmed: sends to member {member} resume");
                return 0;
            default:
                return null;
        }
    }

    private Task WriteApprovalCodeAsync(MessagingClient client)
        => output.WriteLineAsync($"waiting for approval: on a device of yours, run 'messaging device approve --code {client.ApprovalCode.Replace(" ", "", StringComparison.Ordinal)}' after checking it shows {client.ApprovalCode} (QR: {client.ApprovalCodeHex})");

    /// <summary>What every command prints about key changes the key log showed while it ran.</summary>
    private void WatchTrust(MessagingClient client)
    {
        client.MemberKeyChanged += (_, member) => error.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"WARNING: the signing key of member {member} changed (all their devices were replaced). Nothing is sent to them until you compare the new safety number: messaging contact confirm --member {member}"));
        client.MemberDeviceAdded += (_, device) => output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"member {device.MemberId} has a new device {device.DeviceId}, approved by one of their devices"));
    }

    private async Task WriteUnreachableAsync(SendReceipt receipt)
    {
        foreach (var device in receipt.Unreachable)
        {
            await error.WriteLineAsync(device.Reason == UnreachableDevice.NotVouchedReason
                ? $"not sent to device {device.DeviceId} of member {device.MemberId}: no device of that member approved it (unsigned device)"
                : $"not sent to device {device.DeviceId} of member {device.MemberId}: {device.Reason}");
        }
    }
}
