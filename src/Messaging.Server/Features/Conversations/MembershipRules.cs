using Messaging.Contracts;
using Messaging.Crypto.CrossSigning;
using Messaging.Server.Errors;
using Messaging.Server.Features.Authentication;
using Messaging.Server.Features.Devices;
using Messaging.Server.Persistence;

namespace Messaging.Server.Features.Conversations;

/// <summary>The server's checks of a membership statement: its shape, its place in the conversation's log (the same
/// rules the clients apply, <see cref="MembershipLog"/>), its actor (the caller's member) and its signature under the
/// caller's current member key from the key log.</summary>
internal static class MembershipRules
{
    public static ConflictException Invalid(string message) => new(ErrorCodes.ConversationMembershipStatementInvalid, message);

    /// <summary>The statement's shape, or null when the request carries none.</summary>
    public static MembershipStatement? ParseOptional(byte[]? encoded)
    {
        if (encoded is null)
        {
            return null;
        }

        return MembershipStatement.TryParse(encoded, out var statement) ? statement : throw Invalid("The membership statement is malformed.");
    }

    public static bool SameMembers(IReadOnlyList<Guid> stated, IEnumerable<Guid> members) => stated.ToHashSet().SetEquals(members);

    /// <summary>The state the stored log leads to. The statements were checked when they were appended; signatures are
    /// not checked again (a key may have been reset since).</summary>
    public static MembershipLog Replay(Guid conversationId, List<byte[]> log)
    {
        var state = MembershipLog.Empty(conversationId);
        foreach (var encoded in log)
        {
            state = state.Append(MembershipStatement.Parse(encoded));
        }

        return state;
    }

    /// <summary>Checks that <paramref name="statement"/> continues <paramref name="state"/> and is allowed, is made by the
    /// caller's member, and verifies under that member's current key.</summary>
    public static async Task RequireSignedByCallerAsync(DbSession session, CallerDevice caller, MembershipLog state, MembershipStatement statement)
    {
        if (statement.Actor != caller.MemberId)
        {
            throw Invalid("The statement is not made by your member.");
        }

        try
        {
            state.Append(statement);
        }
        catch (MembershipStatementRejectedException ex)
        {
            throw Invalid(ex.Message);
        }

        if (await MemberKeyRepository.GetPublicKeyAsync(session, caller.MemberId) is not { } key || !statement.VerifiesUnder(key))
        {
            throw Invalid("The statement does not verify under your member's current signing key.");
        }
    }
}
