### The account holder's unfreeze pages (/unfreeze). The holder is probably
### anxious and on a phone: short sentences, no jargon.

holder-title = Unfreeze your account
holder-request-heading = Get your account back
holder-request-intro = We froze your account because we saw activity that may not have been yours. Enter your account ID and we will send a secure link to your registered contact.
holder-account-label = Account ID
holder-account-help = It is shown in your account settings, for example acct-8842.
holder-request-button = Send me the link
holder-sent-heading = Check your messages
holder-sent-body = If this account is frozen, a link to unfreeze it is on its way to its registered contact. The link works for 24 hours.
holder-progress = Your progress
# The four steps, as the progress list names them.
holder-step-code = Confirm the code we sent you
holder-step-second-factor = Confirm your 2-step code
holder-step-activity-review = Review the flagged activity
holder-step-unfreeze = Account unfrozen
holder-progress-done = done
holder-progress-current = current step
holder-code-heading = Enter the code we sent you
holder-code-intro = We sent a 6-digit code to your registered contact. It is valid for 10 minutes.
holder-code-label = 6-digit code
holder-code-help = Digits only, no spaces.
holder-code-button = Confirm code
holder-resend-button = Send a new code
holder-second-factor-heading = Enter your 2-step code
holder-second-factor-intro = Open the authenticator app you use for this account and enter the code it shows.
holder-second-factor-label = 2-step code
holder-second-factor-button = Confirm
holder-activity-heading = Was this you?
holder-activity-intro = Tell us about each activity we flagged. Your answers decide how fast we can unfreeze your account.
holder-mine = Yes, this was me
holder-not-mine = No, this was not me
holder-activity-button = Send my answers
holder-unfreezing-heading = We are unfreezing your account
holder-unfreezing-body = Your answers are in. We are lifting the freeze with the exchange now; this usually takes a few seconds. We will message you the moment it is done.
holder-in-review-heading = A security specialist is reviewing your request
holder-in-review-body = You do not need to do anything else. We will message you as soon as there is a decision.
holder-queue-position = Your place in the queue
holder-estimated-wait = Estimated wait
# $minutes (Number) - the estimated wait, in whole minutes.
holder-wait-minutes =
    { $minutes ->
        [one] { $minutes } minute
       *[other] { $minutes } minutes
    }
holder-refresh = Refresh status
holder-unfrozen-heading = Your account is unfrozen
holder-unfrozen-body = You can sign in again. For your safety, withdrawals stay paused for 24 hours, and every device was signed out.
holder-rejected-heading = We could not unfreeze your account
holder-reason = Reason
# What a turned-down holder can do next (the JSON API's next_steps says the same).
holder-rejected-next-steps = Your account stays frozen to protect it. Contact the exchange's support through the official app or website; never through links in messages you did not ask for.
holder-locked-heading = This request is locked
holder-locked-body = Too many wrong codes were entered. Wait an hour, then ask for a new link.
holder-expired-heading = This request has expired
holder-expired-body = Requests stay open for 24 hours. Ask for a new link to start again.
holder-new-request = Ask for a new link
holder-expires = This link works until
holder-invalid-link-heading = This link does not work
holder-invalid-link-body = It may have been replaced by a newer link. Use the most recent message we sent, or ask for a new link.
# $tries (Number) - tries left before the request is locked.
holder-wrong-code = That code is not right. Tries left: { $tries }
holder-code-expired = That code has expired. Send a new code and try again.
holder-unavailable = We could not check your code right now. Nothing was counted; please try again in a moment.
holder-answer-every = Please answer every activity.
holder-not-now = This step is already done.
holder-too-many = Too many attempts. Please wait a moment and try again.
holder-safety = We will never ask for your password or your 2-step code by phone or e-mail.
