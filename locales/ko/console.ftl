### 보안팀 콘솔 (/console/). 상태 이름, 우선순위, 플레이북 ID, 감사 작업은
### API 표기 그대로 둡니다.



brand-console = 콘솔
skip-to-content = 본문으로 건너뛰기
nav-label = 콘솔 메뉴
nav-queue = 대기열
nav-reviews = 동결 해제 검토
nav-overview = 현황


overview-heading = 현황
overview-as-of = 기준 시각
overview-open = 진행 중인 사건
overview-priority = 우선순위
overview-total = 합계
overview-breaches-today = 오늘의 SLA 위반 (UTC)
overview-acknowledge-missed = 확인 기한 초과
overview-contain-missed = 격리 기한 초과
overview-response-times = 대응 시간
overview-count = 사건 수
overview-median = 중앙값
overview-p90 = 90번째 백분위수
-time-to-acknowledge = 확인까지 걸린 시간
-time-to-contain = 격리까지 걸린 시간
-last-24-hours = 최근 24시간
-last-7-days = 최근 7일

overview-acknowledge-24h = { -time-to-acknowledge } · { -last-24-hours }
overview-acknowledge-7d = { -time-to-acknowledge } · { -last-7-days }
overview-contain-24h = { -time-to-contain } · { -last-24-hours }
overview-contain-7d = { -time-to-contain } · { -last-7-days }
overview-waiting = 대기 중인 보유자
overview-estimated-wait = 새 요청의 예상 대기 시간


role-analyst = 분석가
role-lead = 리드
role-admin = 관리자
stepped-up = 추가 인증됨
sign-out = 로그아웃


sign-in = 로그인
signin-heading = 콘솔 로그인
signin-intro = 보안팀 전용입니다. 모든 로그인과 작업은 감사 로그에 기록됩니다.
username-label = 사용자 이름
password-label = 비밀번호
otp-label = 인증 앱 코드
signin-otp-help = 인증 앱에 지금 표시된 6자리 코드입니다.
otp-help = 민감한 작업입니다. 인증 앱에 지금 표시된 6자리 코드를 입력하세요. 이후 5분 동안은 민감한 작업을 코드 없이 할 수 있습니다.
signin-fill-every-field = 사용자 이름, 비밀번호, 인증 앱 코드를 모두 입력하세요.
signin-wrong = 사용자 이름, 비밀번호 또는 코드가 올바르지 않습니다. 15분 안에 5번 실패하면 15분 동안 잠깁니다.
signin-locked = 실패가 너무 많아 이 요원 계정이 잠겼습니다. 남은 시간(분): { $minutes }
code-replayed = 이미 사용된 코드입니다. 인증 앱에 다음 코드가 표시될 때까지 기다리세요.
code-wrong = 인증 앱 코드가 올바르지 않습니다. 아무것도 변경되지 않았습니다.
step-up-needed = 이 작업에는 새 추가 인증이 필요합니다. 인증 앱에 지금 표시된 코드를 입력한 뒤 다시 제출하세요. 아무것도 변경되지 않았습니다.
too-many = 같은 주소에서 시도가 너무 많습니다. 잠시 후 다시 시도하세요.


refused-heading = 요청이 거부되었습니다
refused-body = 양식이 오래되었거나 이 콘솔에서 보낸 것이 아니어서 아무것도 변경되지 않았습니다. 페이지를 다시 열고 시도하세요.
back-to-queue = 대기열로 돌아가기


queue-heading = 대기열
queue-caption = 진행 중인 사건, 가장 긴급한 순
live-incidents = 건 진행 중
take-next = 다음 사건 맡기
filters = 필터
filter-status = 상태
filter-priority = 우선순위
filter-claimed = 담당자
filter-any = 전체
filter-anyone = 전체
filter-mine = 나
filter-unclaimed = 미배정
filter-apply = 보기
col-priority = 우선순위
col-account = 계정
col-what = 발생 내용
col-status = 상태
col-sla = SLA
col-claimed = 담당자
nobody = 없음
queue-empty = 대기 중인 사건이 없습니다. 새 사건이 들어오면 여기에 표시됩니다.
pages = 페이지
first-page = 첫 페이지
next-page = 다음 페이지
shortcuts = 키보드: n 다음 사건 맡기, r 대기열 새로고침. 새 사건은 자동으로 표시되며, JavaScript가 없으면 페이지를 새로고침하세요.
sla-left = { $time } 남음
sla-overdue = { $time } 초과
duration-units = 일,시간,분,초
queue-news = 대기열의 새 사건 수:


sla-acknowledge = 확인 기한:
sla-contain = 차단 기한:
sla-met = 준수
sla-missed = 위반 (상부 보고됨)


acknowledge-by = 확인 기한
contain-by = 차단 기한
opened = 발생
received = 수신
alerts-heading = 발생 내용
reasons-heading = 우선순위 근거
holds-heading = 계정 제한
no-holds = 제한 없음.
hold-scope = 범위
hold-kind = 종류
hold-reason = 사유
hold-placed = 설정
hold-state = 상태
freeze = 동결
cool-off = 유예
in-force = 적용 중
until = 까지
lifted = 해제
expired = 만료
runs-heading = 플레이북 실행
no-runs = 아직 실행된 플레이북이 없습니다.
started-by = 시작:
digest = 다이제스트
step-pending = 대기
step-running = 진행 중
step-waiting = 보류
step-succeeded = 완료
step-failed = 실패
step-skipped = 건너뜀
waiting-mfa = 새 추가 인증 대기 중
waiting-identity = 보유자 본인 확인 대기 중
waiting-approval = 두 번째 리드의 승인 대기 중
approvals = 승인
none-yet = 아직 없음
approvals-needed = 필요한 승인 수: { $count }
no-approval-needed = 이 우선순위에서는 승인 불필요
approve-run = 이 실행 승인
resume-run = 새 추가 인증으로 재개
flows-heading = 보유자의 동결 해제 요청
flow-requested = 요청
flow-reason = 사유
answer-mine = 보유자 본인 활동
answer-not-mine = 보유자 본인 활동 아님
timeline-heading = 타임라인
actions-heading = 작업
acknowledge = 확인
resolve-heading = 종결
resolution-label = 종결 사유
confirmed-takeover = 계정 탈취 확인
false-positive = 오탐
user-error = 사용자 실수
note-label = 메모 (선택)
resolve = 사건 종결
dismiss-heading = 오탐으로 기각
dismiss = 기각
run-playbook-heading = 플레이북 실행
step-needs-mfa = 추가 인증 필요
run-in-progress = 이 플레이북이 실행 중입니다 (플레이북 실행 참조).
run-playbook = 실행: { $title }


reviews-heading = 동결 해제 검토
reviews-intro = 본인 확인을 마치고 결정을 기다리는 계정 보유자, 오래된 순입니다.
reviews-empty = 결정을 기다리는 보유자가 없습니다.
waiting-since = 대기 시작
holder-answers = 보유자의 답변
four-eyes = 이 사건의 우선순위에서는 두 번째 리드가 필요합니다. 동결 해제를 시작하면 다른 리드가 사건 페이지에서 승인합니다.
unfreeze = 계정 동결 해제
reject-reason = 요청 거절 사유
reject-reason-help = 보유자가 이 사유를 읽습니다. 다음에 무엇을 할 수 있는지 알려 주세요.
reject = 요청 거절


done-claimed = 이 사건을 맡았습니다.
done-nothing-waiting = 대기 중인 사건이 없습니다. 모든 진행 중 사건에 담당자가 있습니다.
done-acknowledged = 확인했습니다.
done-resolved = 사건을 종결했습니다.
done-dismissed = 사건을 기각했습니다.
done-run-started = 플레이북이 실행 중입니다. 단계는 아래에 있습니다.
done-approved = 승인이 기록되었습니다.
done-resumed = 실행이 새 추가 인증으로 계속됩니다.
done-unfreeze-started = 동결 해제가 실행 중입니다. 단계는 아래에 있습니다.
done-rejected = 요청을 거절했습니다. 보유자에게 사유가 전달됩니다.


nav-campaigns = 캠페인
campaigns-heading = 캠페인
campaigns-intro = 규칙 파일의 기간 안에 같은 로그인 IP 주소, 기기 또는 출금 주소를 공유하는 여러 계정의 사건입니다. 캠페인에 속한 사건은 모두 P2 이상입니다.
campaigns-empty = 캠페인이 없습니다.
col-signal = 공유 신호
col-value = 값
col-accounts = 계정 수
col-incidents = 사건
col-first-seen = 처음 발견
col-last-seen = 마지막 발견
signal-ip = 로그인 IP 주소
signal-device = 로그인 기기
signal-destination = 출금 주소
campaign-badge = 캠페인
drill-badge = 훈련
    .title = 가상 계정으로 하는 훈련입니다. 거래소로 아무것도 보내지 않으며 24시간 후 저절로 종료됩니다.
campaign-heading = 캠페인
campaign-masked = (가려짐: 전체 값은 보존 기간 동안만 보관됩니다)
campaign-joined = 합류 시각
contain-all = 모두 차단
contain-all-help = 아직 차단되지 않은 캠페인의 모든 사건에 선택한 차단 플레이북을 각각 실행합니다. 이미 차단된 사건은 건너뜁니다. 대기 중인 사건 ({ $open })
playbook-label = 차단 플레이북
done-campaign-contained = 아직 차단되지 않은 캠페인의 모든 사건에 차단을 시작했습니다.


event-alert-received = 알림 수신
event-incident-opened = 사건 생성
event-incident-priority-raised = 우선순위 상향
event-incident-claimed = 사건 담당
event-incident-acknowledged = 확인
event-incident-contained = 차단 완료
event-incident-recovering = 복구 시작
event-incident-resolved = 종결
event-incident-dismissed = 기각
event-incident-sla-breached = SLA 기한 위반
event-incident-escalated = 리드에게 상부 보고
event-hold-placed = 제한 설정
event-hold-lifted = 제한 해제
event-run-started = 플레이북 시작
event-run-step-started = 단계 시작
event-run-step-succeeded = 단계 완료
event-run-step-waiting = 단계 대기
event-run-step-skipped = 단계 건너뜀
event-run-step-failed = 단계 실패
event-run-succeeded = 플레이북 완료
event-run-failed = 플레이북 실패
event-run-approved = 실행 승인
event-run-resumed = 실행 재개
event-unfreeze-requested = 동결 해제 요청
event-unfreeze-in-review = 요원 검토 대기
event-unfreeze-unfrozen = 동결 해제됨
event-unfreeze-rejected = 동결 해제 거절
event-unfreeze-locked = 동결 해제 요청 잠김
event-unfreeze-expired = 동결 해제 요청 만료
event-campaign-joined = 캠페인에 합류

## 사건의 계정 소유자 쪽 (SPEC §13).
done-message-sent = 답변을 보냈습니다. 계정 소유자에게는 새 메시지가 있다는 알림만 가고 내용은 가지 않습니다.
case-heading = 계정 소유자
case-reported = 계정 소유자가 직접 신고했습니다
case-links = 보낸 사건 링크
case-no-links = 아직 없음
case-holder-said = 계정 소유자의 답변
case-unverified = (검증되지 않음: 링크를 가진 누구나 답할 수 있습니다)
case-nothing-said = 아직 없음
case-rating = 계정 소유자의 평가
case-thread-heading = 계정 소유자와의 메시지
case-no-messages = 아직 메시지가 없습니다.
case-the-holder = 계정 소유자
case-reply-label = 계정 소유자에게 답하기
case-reply-help = 계정 소유자에게는 "보안팀"이 보낸 것으로 보입니다. 비밀번호나 코드를 묻지 마세요. 메시지는 신원을 증명하지 않습니다.
case-reply-button = 답변 보내기
queue-unanswered = 답하지 않은 계정 소유자 메시지
review-reasons = 사람이 확인해야 하는 이유
review-reason-no_second_factor = 계정 소유자에게 2단계 인증 수단이 없어 신원 증명이 하나뿐입니다(등록된 연락처로 보낸 코드). 그래서 자동으로 동결 해제되지 않습니다.
review-reason-disowned_activity = 계정 소유자가 본인이 하지 않은 활동이 있다고 답했습니다.
overview-resolve-24h = 해결까지 걸린 시간, 최근 24시간
overview-resolve-7d = 해결까지 걸린 시간, 최근 7일
overview-satisfaction = 계정 소유자의 사건 평가
overview-satisfaction-7d = 최근 7일
overview-satisfaction-30d = 최근 30일
# $count (Number) - 답한 계정 소유자 수.
overview-answers = 응답 { $count }건
## Rule quality (/console/rules, leads)
nav-rules = 규칙 품질
rules-heading = 규칙 품질
rules-intro = 최근 { $days }일 동안 열린 인시던트(훈련 제외)를 발동한 우선순위 규칙별, 알림 종류별로 나누고 어떻게 끝났는지 보여 줍니다. 시작 시점:
rules-window = 기간
rules-days = { $days }일
rules-mostly-false-positives = 주로 오탐에서 발동한 규칙
rules-caught-takeovers = 확인된 계정 탈취를 잡은 규칙
rules-verdict-counts = 인시던트 { $fired }건에서 발동: 확인된 탈취 { $takeovers }건, 오탐 또는 기각 { $noise }건
rules-none = 없음.
rules-by-rule = 규칙별
rules-by-kind = 알림 종류별
rules-name = 이름
rules-fired = 인시던트
rules-confirmed-takeover = 확인된 탈취
rules-false-positive = 오탐
rules-user-error = 사용자 실수
rules-dismissed = 기각
rules-open = 진행 중
